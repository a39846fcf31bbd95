"""Check, passes, targets, compile options, hardware numerics, the per-step table and
NIR graphs in memory."""

import io

import numpy as np
import pytest

import spikeforge as sf
from conftest import REPO


def test_check_summary(golden):
    s = sf.load(golden / "digits_cnn" / "model.nir").check()
    assert s["format"] == "NIR, HDF5"
    ops = [n["op"] for n in s["nodes"]]
    assert ops[0] == "Input" and "Conv2d" in ops and "LIF" in ops
    assert s["neurons"] > 0 and s["synapses"] > 0 and s["parameters"] > 0
    assert s["text"].splitlines()[0].startswith("model     ")
    assert "semantics nir" in s["dynamics"]


def test_semantics_keyword_changes_dynamics(golden):
    m = sf.load(golden / "digits_mlp" / "model.nir")
    assert "snntorch" in m.check(semantics="snntorch")["dynamics"]
    with pytest.raises(sf.BadInputError) as e:
        m.check(semantics="nonsense")
    assert e.value.message.startswith("semantics: ")


def test_prune_pass_returns_sparser_model_with_masks_and_scores(golden):
    d = golden / "digits_mlp"
    m = sf.load(d / "model.nir")
    pruned, report = m.passes("prune(method=magnitude, sparsity=0.5)")
    assert [p["pass"] for p in report["passes"]] == ["prune"]
    masks = report["masks"]
    assert masks, "a mask per weight layer"
    kept = sum(int(v.sum()) for v in masks.values())
    total = sum(v.size for v in masks.values())
    assert 0.4 < kept / total < 0.6
    assert any(len(p["scores"]) for p in report["passes"])
    assert pruned.check()["synapses"] < m.check()["synapses"]
    # The original is untouched.
    x = np.load(d / "input.npy")
    assert np.array_equal(m.run(x)[0], np.load(d / "output.npy"))


def test_quantize_with_calibration(golden):
    d = golden / "digits_mlp"
    m = sf.load(d / "model.nir")
    x = np.load(d / "input.npy")
    q, report = m.passes("quantize(bits=8)", calib=x[:32])
    assert report["passes"][0]["weight_bits"]
    y, _ = q.run(x)
    assert y.shape == (x.shape[0], x.shape[1], 10)


def test_bad_pipeline_is_a_rendered_error(golden):
    m = sf.load(golden / "digits_mlp" / "model.nir")
    with pytest.raises(sf.BadInputError) as e:
        m.passes("prune(sparsity=")
    assert e.value.kind == "bad_input"


def test_target_overrides_and_auto_chips(golden):
    t = sf.target("loihi", chips="2x1")
    assert t.chips == (2, 1) and not t.auto_chips
    t = sf.target("loihi", set={"core.synapse_memory_kib": 16}, chips="auto")
    assert t.auto_chips
    m = sf.load(golden / "digits_cnn" / "model.nir")
    cm = sf.compile(m, t)
    assert cm.report["auto_chips"].startswith("--chips auto: ")
    assert "cores" in sf.target("speck").show()


def test_sequential_placement_and_hardware_numerics(golden):
    d = golden / "digits_mlp"
    m = sf.load(d / "model.nir")
    x = np.load(d / "input.npy")[:8]
    cm = sf.compile(m, sf.target(str(REPO / "targets" / "test_4x4.ron")), placement="sequential", seed=3)
    exact, _, _ = sf.simulate(cm, x)
    hw, stats, _ = sf.simulate(cm, x, numeric="hardware")
    assert hw.shape == exact.shape and stats["cycles_total"] > 0


def test_steps_table_without_pandas(golden, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pandas(name, *a, **k):
        if name == "pandas":
            raise ImportError("no pandas")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    d = golden / "digits_mlp"
    cm = sf.compile(sf.load(d / "model.nir"), sf.target("loihi"))
    x = np.load(d / "input.npy")[:2]
    _, stats, steps = sf.simulate(cm, x)
    assert isinstance(steps, list) and len(steps) == 2 * x.shape[1]
    assert steps[0]["sample"] == 0 and steps[0]["step"] == 0
    assert sum(r["sops_weight_layers"] for r in steps) == pytest.approx(stats["sops_weight_layers_per_sample"] * 2)
    # Attribution reaches Python through the stats dict and the per-step rows.
    assert sum(l["sops_weight_layers"] for l in stats["layers"]) == stats["sops_weight_layers_total"]
    assert {c["core"] for c in stats["cores"]} == {m["core"] for m in stats["memory"]}
    assert all(r["critical_core"] in {c["core"] for c in stats["cores"]} for r in steps)


def test_from_nir_in_memory_graph():
    nir = pytest.importorskip("nir")
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 1.0, (16, 8)).astype(np.float32)
    w2 = rng.normal(0, 1.0, (4, 16)).astype(np.float32)
    lif = lambda n: nir.LIF(
        tau=np.full(n, 2e-3), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n)
    )
    graph = nir.NIRGraph.from_list(nir.Affine(w1, np.zeros(16, np.float32)), lif(16), nir.Affine(w2, np.zeros(4, np.float32)), lif(4))
    model = sf.from_nir(graph, name="mlp in memory")
    assert model.name == "mlp in memory"
    x = (rng.random((3, 20, 8)) < 0.5).astype(np.uint8)
    y, stats = model.run(x)
    assert y.shape == (3, 20, 4)
    # Round trip through NIR in memory gives the same spikes.
    back = sf.from_nir(model.to_nir())
    assert np.array_equal(back.run(x)[0], y)
    # And the same as a file written by the nir package.
    buf = io.BytesIO()
    nir.write(buf, graph)
    assert np.array_equal(sf.from_nir(nir.read(io.BytesIO(buf.getvalue()))).run(x)[0], y)
    cm = sf.compile(model, sf.target("loihi"))
    ys, _, _ = sf.simulate(cm, x)
    assert np.array_equal(ys, y)


def test_eval_matches_the_cli_and_returns_the_model_after_the_passes(golden, tmp_path):
    import json
    import subprocess

    from conftest import cli_binary

    d = golden / "digits_mlp"
    m = sf.load(d / "model.nir")
    x = np.load(d / "input.npy")
    y = np.load(d / "labels.npy")
    r = m.eval(x, y, passes="prune(method=magnitude, sparsity=0.5)", target=sf.target("loihi"))
    assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["accuracy_before"] <= 1.0
    assert 0.45 < r["connection_sparsity"] < 0.55
    assert r["sops_weight_layers_per_sample"] < r["sops_weight_layers_per_sample_before"]
    assert r["hardware"]["target"] == "loihi"
    assert r["log"] and r["text"].startswith("samples")
    after = r["model_after"]
    assert after.check()["synapses"] < m.check()["synapses"]
    for name in ("after.nir", "after.snn"):
        after.save(tmp_path / name)
        again = sf.load(tmp_path / name)
        assert np.array_equal(again.run(x)[0], after.run(x)[0]), name
    with pytest.raises(sf.BadInputError):
        after.save(tmp_path / "after.txt")
    # The same figures as the command line's --json.
    exe = cli_binary()
    if exe is None:
        return
    out = tmp_path / "eval.json"
    subprocess.run(
        [str(exe), "--quiet", "eval", str(d / "model.nir"), "--input", str(d / "input.npy"),
         "--labels", str(d / "labels.npy"), "--passes", "prune(method=magnitude, sparsity=0.5)",
         "--target", "loihi", "--json", str(out)],
        check=True, capture_output=True,
    )
    cli = json.loads(out.read_text())
    for key in ("accuracy", "accuracy_before", "connection_sparsity", "sops_weight_layers_per_sample",
                "weight_bits_total", "hardware"):
        assert r[key] == cli[key], key


def test_eval_bad_labels_name_the_argument(golden):
    d = golden / "digits_mlp"
    m = sf.load(d / "model.nir")
    x = np.load(d / "input.npy")
    with pytest.raises(sf.BadInputError) as e:
        m.eval(x, np.zeros(x.shape[0] + 1))
    assert e.value.message.startswith("labels: ")
