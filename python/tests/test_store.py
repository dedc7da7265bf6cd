"""A daemon's store read from Python gives what `residue decode` gives on the same store."""
import json

import numpy as np
import pytest

import residue
from conftest import run_cli


def test_read_store_equals_residue_decode(store):
    tool = json.loads(run_cli("decode", "--data", store, "--task", "words", "--top", 10, "--json"))
    mine = residue.read_store(str(store), "words", top=10)
    assert mine == tool
    assert mine["reports"] == 20000 and len(mine["top"]) == 10


def test_read_store_of_postgresql_equals_residue_decode(postgres_store):
    tool = json.loads(run_cli("decode", "--postgres", postgres_store, "--task", "words", "--top",
                              10, "--json"))
    mine = residue.read_store("postgres:" + postgres_store, "words", top=10)
    assert mine == tool
    assert mine["reports"] == 20000 and len(mine["top"]) == 10


def test_read_tally_estimates_every_value_as_decode_does(store):
    protocol, tally = residue.read_tally(str(store), "words")
    assert protocol.name == "mss" and protocol.k == 256 and tally.reports == 20000
    estimate = protocol.estimate(tally)
    top = residue.read_store(str(store), "words", top=5)["top"]
    indices = [row["index"] for row in top]
    assert estimate.frequencies[indices] == pytest.approx([row["frequency"] for row in top],
                                                          rel=1e-12)
    assert estimate.standard_errors(indices) == pytest.approx([row["stderr"] for row in top],
                                                              rel=1e-12)
    # zipf:1.1 puts the most mass on the first values.
    assert np.argmax(estimate.frequencies) == 0


def test_a_missing_task_names_the_tasks_there(store):
    with pytest.raises(residue.Error, match=r'no task "nope" \(it has: words\)'):
        residue.read_store(str(store), "nope")
