"""The golden snnTorch cases run on the reference executor and simulate on chips with
spikes exactly equal to the traces snnTorch produced."""

import numpy as np
import pytest

import spikeforge as sf

CASES = ["digits_cnn", "digits_mlp", "rsnn_random"]


@pytest.mark.parametrize("case", CASES)
def test_run_reproduces_golden_output(golden, case):
    d = golden / case
    model = sf.load(d / "model.nir")
    x = np.load(d / "input.npy")
    spikes, stats = model.run(x)
    want = np.load(d / "output.npy")
    assert spikes.dtype == np.uint8 and spikes.shape == want.shape
    assert np.array_equal(spikes, want)
    assert np.array_equal(stats["layer_spikes"], np.load(d / "layer_spikes.npy"))
    assert stats["total_output_spikes"] == int(want.sum())
    assert stats["n_samples"] == x.shape[0] and stats["n_steps"] == x.shape[1]


@pytest.mark.parametrize("case", ["digits_cnn", "rsnn_random"])
def test_compile_for_loihi_and_simulate_exactly(golden, case, tmp_path):
    d = golden / case
    model = sf.load(d / "model.nir")
    x = np.load(d / "input.npy")
    core_map = sf.compile(model, sf.target("loihi"))
    assert core_map.report["cores_used"] >= 1
    assert core_map.summary.startswith(f"compiled {d / 'model.nir'} onto `loihi`")
    spikes, stats, steps = sf.simulate(core_map, x)
    want = np.load(d / "output.npy")
    assert np.array_equal(spikes, want)
    assert np.array_equal(stats["layer_spikes"], np.load(d / "layer_spikes.npy"))
    assert stats["map_fingerprint"] == core_map.fingerprint
    assert len(steps) == x.shape[0] * x.shape[1]
    # The map written and read back simulates the same.
    path = tmp_path / "m.map"
    fingerprint = core_map.save(path, report=tmp_path / "r.json")
    assert fingerprint == core_map.fingerprint
    again, _, _ = sf.simulate(sf.load_map(path), x[:4])
    assert np.array_equal(again, want[:4])


def test_gzip_nir_is_the_same_model(golden):
    d = golden / "digits_cnn"
    x = np.load(d / "input.npy")[:8]
    a, _ = sf.load(d / "model.nir").run(x)
    b, _ = sf.load(d / "model_gzip.nir").run(x)
    assert np.array_equal(a, b)


def test_results_do_not_depend_on_threads(golden):
    d = golden / "digits_cnn"
    x = np.load(d / "input.npy")[:32]
    model = sf.load(d / "model.nir")
    one, _ = model.run(x, threads=1)
    many, _ = model.run(x, threads=3)
    assert np.array_equal(one, many)
    core_map = sf.compile(model, sf.target("loihi"))
    s1, st1, _ = sf.simulate(core_map, x, threads=1)
    s2, st2, _ = sf.simulate(core_map, x, threads=2)
    assert np.array_equal(s1, s2) and st1["cycles_total"] == st2["cycles_total"]


@pytest.mark.parametrize("case", CASES)
def test_grad_matches_pytorch_surrogate_gradients(golden, case):
    """`Model.grad` against PyTorch autograd (grad.npz, samples 0–15, labels.npy)."""
    import json

    d = golden / case
    meta = json.loads((d / "grad.json").read_text())
    lo, hi = meta["samples"]
    x = np.load(d / "input.npy")[lo:hi]
    # Labels from labels.npy where the case has them, else sample i has label i mod n_out
    # (grad.json says which), which is also Model.grad's default.
    y = np.load(d / "labels.npy")[lo:hi] if meta["labels"].startswith("labels.npy") else None
    loss, grads = sf.load(d / "model.nir").grad(x, y)
    want = np.load(d / "grad.npz")
    assert abs(loss - meta["loss"]) <= 1e-9 * max(1.0, abs(meta["loss"]))
    assert sorted(grads) == sorted(k for k in want.files if k != "loss")
    for name, g in grads.items():
        scale = max(1.0, float(np.abs(want[name]).max()))
        assert g.shape == want[name].shape, name
        assert np.abs(g - want[name]).max() <= 1e-9 * scale, name


def test_core_map_warns_where_the_chip_cannot_follow_the_leak(golden):
    model = sf.load(golden / "digits_mlp" / "model.nir")
    assert sf.compile(model, sf.target("loihi")).warnings == []
    speck = sf.compile(model, sf.target("speck")).warnings
    assert len(speck) == 2 and all("linear" in w for w in speck)
