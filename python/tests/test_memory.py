"""The memory evaluation from Python equals `residue memory eval` on the same memory."""
import json

import residue
from conftest import TEST_DATA, run_cli


def test_evaluate_memory_scores_every_arm_like_the_tool(memory_file):
    data = TEST_DATA / "brown_tiny"
    mine = residue.evaluate_memory(str(memory_file), data_dir=str(data), threads=1)
    tool = json.loads(run_cli("memory", "eval", "--memory", memory_file, "--data-dir", data,
                              "--threads", 1, "--json"))
    names = [arm["name"] for arm in mine["arms"]]
    assert "base" in names and "ldp_2stage_shortlist" in names
    assert names == [arm["name"] for arm in tool["arms"]]
    for a, b in zip(mine["arms"], tool["arms"]):
        assert a["test_perplexity"] == b["test_perplexity"] > 1
