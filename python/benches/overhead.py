"""Overhead of calling spikeforge from Python against the CLI, on `run` and `simulate` of
the golden models (../shared/golden), measured in the same run, interleaved, as a ratio.

    python python/benches/overhead.py [--reps 7] [--cli target/release/spikeforge]

Each repetition does the same work both ways: the CLI (a subprocess) reads the model or core
map and the input `.npy`, works, writes the output `.npy`; Python loads the model or map,
`np.load`s the input, calls `model.run` / `sf.simulate` and `np.save`s the spikes, in
process. Prints the median seconds and Python ÷ CLI per case (target < 1.05).
"""

import argparse
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np

import spikeforge as sf

REPO = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = REPO.parent / "shared" / "golden"


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--cli", default=str(REPO / "target" / "release" / "spikeforge"))
    ap.add_argument("--cases", default="digits_cnn,digits_mlp,rsnn_random")
    a = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp())
    print(f"{'case':<12} {'command':<9} {'cli s':>8} {'python s':>9} {'ratio':>6}")
    for case in a.cases.split(","):
        d = GOLDEN / case
        model_path, input_path = d / "model.nir", d / "input.npy"
        map_path = tmp / f"{case}.map"
        subprocess.run([a.cli, "compile", str(model_path), "--target", "loihi", "-o", str(map_path)],
                       check=True, capture_output=True)
        out = tmp / "y.npy"

        def cli(*args):
            return lambda: subprocess.run([a.cli, *map(str, args)], check=True, capture_output=True)

        def py_run():
            m = sf.load(model_path)
            y, _ = m.run(np.load(input_path))
            np.save(out, y)

        def py_sim():
            cm = sf.load_map(map_path)
            y, _, _ = sf.simulate(cm, np.load(input_path))
            np.save(out, y)

        for name, c, p in [
            ("run", cli("run", model_path, "--input", input_path, "--output", out), py_run),
            ("simulate", cli("simulate", map_path, "--input", input_path, "--output", out), py_sim),
        ]:
            c(), p()  # warm the page cache and the module
            tc, tp = [], []
            for _ in range(a.reps):
                tc.append(timed(c))
                tp.append(timed(p))
            mc, mp = statistics.median(tc), statistics.median(tp)
            print(f"{case:<12} {name:<9} {mc:8.4f} {mp:9.4f} {mp / mc:6.3f}")
        # The binding alone: `model.run(x)` against the executor's own time inside it.
        m, x = sf.load(model_path), np.load(input_path)
        calls, inner = [], []
        for _ in range(a.reps):
            t = time.perf_counter()
            _, stats = m.run(x)
            calls.append(time.perf_counter() - t)
            inner.append(stats["execute_seconds"])
        mc, mi = statistics.median(calls), statistics.median(inner)
        print(f"{case:<12} {'run call':<9} {mi:8.4f} {mc:9.4f} {mc / mi:6.3f}  (executor alone vs the Python call)")


if __name__ == "__main__":
    main()
