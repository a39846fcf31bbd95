"""sf.compare: the same entries as `spikeforge compare`'s JSON, unknown energy as None
(never 0), maps compared as they are."""

import json
import subprocess

import numpy as np
import pytest

import spikeforge as sf
from conftest import REPO, cli_binary

CNN = REPO / "examples" / "digits_cnn"


def _records(rows):
    return rows.to_dict("records") if hasattr(rows, "to_dict") else rows


def _x():
    return np.load(CNN / "input.npy")[:4]


def test_compare_four_chips_side_by_side(tmp_path):
    model = sf.load(CNN / "model.nir")
    rows = _records(
        sf.compare(model, ["loihi", "loihi2", "speck", "spinnaker2"], _x(), chips="auto", out=tmp_path)
    )
    assert [r["label"] for r in rows] == ["loihi", "loihi2", "speck", "spinnaker2"]
    for r in rows:
        assert r["status"] == "fits", r["reason"]
        assert r["cores_used"] <= r["cores_available"]
        assert r["inferences_per_s"] == pytest.approx(1e6 / r["latency_us_per_inference"])
    by = {r["label"]: r for r in rows}
    # SpiNNaker 2's preset publishes no per-event energy: unknown, not 0.
    assert by["spinnaker2"]["energy_pj_per_inference"] is None or np.isnan(by["spinnaker2"]["energy_pj_per_inference"])
    assert by["loihi"]["energy_partial"] and by["loihi"]["energy_pj_per_inference"] > 0
    for name in ("compare.csv", "compare.json", "compare.html", "loihi.map", "speck.stats.json"):
        assert (tmp_path / name).is_file(), name


def test_a_grid_per_target_and_a_map_from_a_file(tmp_path):
    model = sf.load(CNN / "model.nir")
    x = _x()
    first = _records(sf.compare(model, "test_4x4@1x1, test_4x4@2x1", x, out=tmp_path))
    assert [r["chips"] for r in first] == [[1, 1], [2, 1]]
    again = _records(sf.compare(None, [], x, maps=[tmp_path / "test_4x4_1x1.map"]))
    keep = ("cores_used", "latency_us_per_step", "energy_pj_per_inference", "sops_per_inference")
    assert {k: again[0][k] for k in keep} == {k: first[0][k] for k in keep}


def test_targets_without_a_model_are_refused():
    with pytest.raises(sf.BadInputError, match="needs a model"):
        sf.compare(None, ["loihi"], _x())


def test_same_entries_as_the_cli(tmp_path):
    exe = cli_binary()
    if exe is None:
        pytest.skip("no spikeforge binary built in this checkout")
    model = sf.load(CNN / "model.nir")
    x = _x()
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "cli"
    out.mkdir()
    subprocess.run(
        [str(exe), "compare", str(CNN / "model.nir"), "--targets", "loihi,speck", "--input", str(tmp_path / "x.npy"),
         "--out", str(out)],
        check=True, capture_output=True,
    )
    cli = json.loads((out / "compare.json").read_text())["entries"]
    py = sf.compare(model, ["loihi", "speck"], x)
    py = _records(py)
    assert [e["cores_used"] for e in cli] == [r["cores_used"] for r in py]
    assert [e["latency_us_per_step"] for e in cli] == [r["latency_us_per_step"] for r in py]
