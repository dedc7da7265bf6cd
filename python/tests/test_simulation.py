"""simulate and compare: the tool's simulation, as dicts and numpy arrays."""
import json

import numpy as np

import residue
from conftest import run_cli


def test_simulate_gives_the_tools_fields_and_the_last_trial():
    rows = residue.simulate(["ss", "grr"], k=64, epsilon=1.0, n=2000, trials=2, seed=5)
    assert [r["protocol"] for r in rows] == ["ss", "grr"]
    for r in rows:
        assert r["truth"].shape == (64,) and r["estimate"].shape == (64,)
        assert abs(r["truth"].sum() - 1) < 1e-9
        assert 0.3 < r["mse"] / r["mse_theory"] < 3
    # The same seed gives what `residue simulate --json` measures (timings aside).
    tool = json.loads(run_cli("simulate", "--protocol", "ss,grr", "--k", 64, "--eps", 1, "--n",
                              2000, "--trials", 2, "--seed", 5, "--json"))["results"]
    for mine, theirs in zip(rows, tool):
        for key in ("mse", "mse_theory", "mse_normsub", "bits_mean", "attack_rate"):
            assert mine[key] == theirs[key], key


def test_compare_gives_columns():
    table = residue.compare([0.5, 2.0], k=32, n=1000, protocols=["ss", "olh"], trials=2)
    assert table["protocol"] == ["ss", "olh", "ss", "olh"]
    assert table["epsilon"].tolist() == [0.5, 0.5, 2.0, 2.0]
    assert table["mse"].dtype == np.float64 and table["mse"].shape == (4,)
    # More budget, less error, for each protocol.
    assert (table["mse"][2:] < table["mse"][:2]).all()
