"""sweep and regress from Python: the same rows as the CLI's results CSV and the same
verdicts and summary as `spikeforge regress`."""

import csv
import subprocess

import numpy as np
import pytest

import spikeforge as sf
from conftest import REPO, cli_binary

GRID = {"core.max_neurons": [4, 8, 64], "noc.link_bits_per_cycle": [0, 16]}


def _records(rows):
    return rows.to_dict("records") if hasattr(rows, "to_dict") else rows


def _sweep(**kw):
    model = sf.load(REPO / "examples" / "tiny_mlp.snn")
    x = np.load(REPO / "examples" / "tiny_input.npy")
    return _records(sf.sweep(model, sf.target("test_2x2"), grid=GRID, x=x, **kw))


def test_sweep_rows_cover_the_grid_in_order_with_a_pareto_front():
    rows = _sweep()
    assert [r["config"] for r in rows] == list(range(6))
    assert [(r["core.max_neurons"], r["noc.link_bits_per_cycle"]) for r in rows][:2] == [("4", "0"), ("4", "16")]
    statuses = {r["status"] for r in rows}
    assert statuses <= {"fits", "does_not_fit", "invalid_target", "sim_failed"}
    assert "invalid_target" in statuses, "a link of 0 bits breaks the target's rules"
    fits = [r for r in rows if r["status"] == "fits"]
    assert fits and any(r["pareto"] for r in fits)
    assert all(not r["pareto"] for r in rows if r["status"] != "fits")
    for r in fits:
        assert r["cores_used"] <= r["cores_available"] and r["latency_us_per_step"] > 0


def _same(a, b):
    """Equal values, NaN equal to NaN (pandas turns missing figures into NaN)."""
    both_nan = isinstance(a, float) and isinstance(b, float) and a != a and b != b
    return both_nan or a == b


def test_sweep_rows_do_not_depend_on_the_thread_count():
    one, two = _sweep(jobs=1), _sweep(jobs=2)
    assert len(one) == len(two) and all(
        r.keys() == q.keys() and all(_same(r[k], q[k]) for k in r) for r, q in zip(one, two)
    )


def test_sweep_matches_the_cli_csv(tmp_path):
    exe = cli_binary()
    if exe is None:
        pytest.skip("no spikeforge CLI built in this checkout (cargo build --release)")
    out = tmp_path / "r.csv"
    grid = "; ".join(f"{k}=[{', '.join(map(str, v))}]" for k, v in GRID.items())
    args = [exe, "sweep", "--model", "examples/tiny_mlp.snn", "--target", "test_2x2", "--grid", grid]
    args += ["--input", "examples/tiny_input.npy", "-o", out]
    subprocess.run(args, cwd=REPO, check=True, capture_output=True)
    with open(out, newline="") as f:
        cli = [r for r in csv.DictReader(f) if not r.get("config", "").startswith("#")]
    py = _sweep()
    assert len(cli) == len(py)
    for c, p in zip(cli, py):
        assert int(c["config"]) == p["config"] and c["status"] == p["status"]
        for col in ("cores_used", "silicon_cost_bits", "cycles_per_step"):
            if c.get(col):
                assert float(c[col]) == pytest.approx(float(p[col]), rel=1e-12), col


def test_sweep_bad_grid_key_names_the_field():
    with pytest.raises(sf.BadInputError) as e:
        sf.sweep(
            sf.load(REPO / "examples" / "tiny_mlp.snn"),
            sf.target("test_2x2"),
            grid={"core.max_neuron": [4, 8]},
            x=np.load(REPO / "examples" / "tiny_input.npy"),
        )
    assert "unknown target field `core.max_neuron`" in e.value.message


def test_sweep_budget_is_enforced():
    with pytest.raises(sf.BadInputError) as e:
        _sweep(max_configs=4)
    assert "above the budget of 4" in e.value.message


def test_regress_golden_passes_and_writes_junit(golden, tmp_path):
    junit = tmp_path / "j.xml"
    r = sf.regress(golden / "digits_mlp", junit=str(junit))
    rows = _records(r.rows)
    assert r.passed and rows and all(row["passed"] for row in rows)
    assert {row["engine"] for row in rows} >= {"reference"}
    assert r.summary.endswith(f"{len(rows)} passed, 0 failed")
    assert r.table.splitlines()[0].split()[:2] == ["bundle", "engine"]
    assert "<testsuite" in junit.read_text()


def test_regress_missing_folder_is_bad_input(tmp_path):
    with pytest.raises(sf.BadInputError):
        sf.regress(tmp_path / "nowhere")


def test_report_simulates_x_and_writes_the_page(golden, tmp_path):
    d = golden / "digits_mlp"
    m = sf.load(d / "model.nir")
    x = np.load(d / "input.npy")[:2]
    core_map = sf.compile(m, sf.target("loihi", chips="auto"))
    out = tmp_path / "r.html"
    page = sf.report(core_map, x=x, out=str(out), export_dir=str(tmp_path / "png"))
    assert out.read_text() == page and page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert (tmp_path / "png" / "heatmap.svg").exists()


def test_report_without_input_or_stats_is_bad_input(golden):
    core_map = sf.compile(sf.load(golden / "digits_mlp" / "model.nir"), sf.target("loihi", chips="auto"))
    with pytest.raises(sf.BadInputError):
        sf.report(core_map)
    with pytest.raises(sf.BadInputError) as e:
        sf.report(core_map, x=np.zeros((1, 2, 3)))
    assert "expected [N, T," in e.value.message
