"""Protocols from Python: reports as numpy arrays, tallies, estimates with standard errors."""
import numpy as np
import pytest

import residue


def test_every_registered_protocol_is_there():
    assert {"mss", "ss", "grr", "olh"} <= set(residue.protocols())


def test_encode_gives_one_report_per_value_as_numpy():
    p = residue.Protocol("ss", k=32, epsilon=1.0)
    batch = p.encode(np.arange(32, dtype=np.uint32).repeat(10), seed=1)
    assert batch["block"].dtype == np.uint32 and batch["block"].shape == (320,)
    assert batch["offsets"].dtype == np.int64 and batch["offsets"].shape == (321,)
    assert batch["items"].dtype == np.uint32
    sizes = np.diff(batch["offsets"])
    assert (sizes == p.params["subset_sizes"][0]).all()  # SS: one subset size
    assert batch["items"].max() < 32


def test_seeded_encoding_repeats_and_the_csprng_does_not():
    p = residue.Protocol("grr", k=1000, epsilon=0.5)
    values = np.zeros(200, dtype=np.uint32)
    a, b = p.encode(values, seed=7), p.encode(values, seed=7)
    assert all((a[key] == b[key]).all() for key in a)
    c, d = p.encode(values), p.encode(values)
    assert not (c["items"] == d["items"]).all()


def test_mss_estimate_is_within_its_standard_errors():
    p = residue.Protocol("mss", k=256, epsilon=2.0)
    rng = np.random.default_rng(3)
    values = rng.choice([3, 50, 200], size=30000, p=[0.5, 0.3, 0.2]).astype(np.uint32)
    tally = p.tally(p.encode(values, seed=11))
    assert tally.reports == 30000
    estimate = p.estimate(tally)
    truth = np.zeros(256)
    truth[[3, 50, 200]] = [0.5, 0.3, 0.2]
    se = estimate.standard_errors()
    assert se.shape == (256,) and (se > 0).all()
    z = (estimate.frequencies - truth) / se
    # Seeded: a fixed draw; |z| > 4.5 anywhere among 256 values would be a bug, not chance.
    assert np.abs(z).max() < 4.5
    assert abs(np.mean(z**2) - 1) < 0.35  # the errors are the right size
    assert estimate.postprocessed("normsub").sum() == pytest.approx(1.0)
    assert (estimate.postprocessed("clip") >= 0).all()


def test_tallies_merge_and_batches_add():
    p = residue.Protocol("oue", k=16, epsilon=1.0)
    values = np.arange(16, dtype=np.uint32)
    first, second = p.encode(values, seed=1), p.encode(values, seed=2)
    merged = p.tally(first)
    merged.merge(p.tally(second))
    added = p.new_tally()
    added.add(first)
    added.add(second)
    assert merged == added and merged.reports == 32
    assert merged.counts(0).sum() == first["items"].size + second["items"].size


def test_bad_input_raises_residue_error():
    p = residue.Protocol("ss", k=8, epsilon=1.0)
    with pytest.raises(residue.Error, match=r"outside \[0, k\)"):
        p.encode(np.array([8], dtype=np.uint32))
    with pytest.raises(ValueError):
        residue.Protocol("nope", k=8, epsilon=1.0)
    bad = p.encode(np.array([1], dtype=np.uint32))
    bad["offsets"] = np.array([0, 99])
    with pytest.raises(residue.Error, match="offsets"):
        p.tally(bad)
