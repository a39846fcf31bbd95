#!/usr/bin/env python3
"""The same two networks on SANA-FE's Loihi model and on spikeforge's `loihi` preset.

Run by hand (not by `cargo test`); SANA-FE installs from the package index:

    python3 -m venv .venv && .venv/bin/pip install sanafe==2.2.9 numpy
    cargo build --release
    .venv/bin/python examples/sanafe_compare.py > examples/sanafe_compare.txt
    .venv/bin/python examples/sanafe_compare.py --only mlp --steps 1000 \
        > examples/sanafe_compare_mlp_1000_steps.txt

spikeforge's wall times are those of its `compile` and `simulate` processes (start-up, file
reading and writing included); SANA-FE's are its in-process set-up and `sim` calls. On
short runs the process start dominates spikeforge's figure, hence the longer MLP run.

Networks (seeded weights, Bernoulli input spikes):
  mlp   256 -> 128 -> 10, IF neurons
  conv  2x32x32 -> conv 3x3 16 -> conv 3x3 16 -> conv 3x3 16 stride 2 -> dense 10, IF
        neurons (31,706 neurons with the input, 2.48 M synapses; every fan-in fits one
        Loihi core, so spikeforge splits no neuron into partial sums)

Both run the same neurons (spikeforge compiles with `--dt 1`): integrate-and-fire (no leak, current decays fully each step,
strict threshold, hard reset to 0), weights multiples of 1/64 so that SANA-FE's 1/64
potential quantization is exact. spikeforge compiles the model for `loihi` and simulates
it with `--timing pipelined`; SANA-FE gets every neuron on the core spikeforge placed it on
(the input neurons, which spikeforge injects from the host, on the core of their first
destination), dense connections on `loihi_dense_synapse`, convolutions on
`loihi_conv_synapse`. The table prints both tools' counts, energy and latency per step with
their ratio, and the wall time of each (set-up and run). SANA-FE's input messages leave
from a core and cross the mesh (spikeforge's enter at the destination's router from the
host); rows "without input messages" take their hops and energy, computed here from the
placement and the input spikes, out of SANA-FE's figures.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import sanafe

ROOT = Path(__file__).resolve().parent.parent


def weights(rng, low, high, shape):
    """Nonzero multiples of 1/64 (a zero weight is stored by one tool and not the other)."""
    w = rng.integers(low, high, size=shape)
    w[w == 0] = 1
    return w / 64.0


def mlp(rng):
    w1 = weights(rng, -8, 11, (128, 256))
    w2 = weights(rng, -8, 15, (10, 128))
    layers = [("dense", w1), ("dense", w2)]
    return "mlp", [256], layers, 0.2


def conv(rng):
    c1 = weights(rng, -10, 17, (16, 2, 3, 3))
    c2 = weights(rng, -6, 8, (16, 16, 3, 3))
    c3 = weights(rng, -6, 8, (16, 16, 3, 3))
    d1 = weights(rng, -6, 8, (10, 16 * 13 * 13))
    layers = [("conv", c1), ("conv", c2), ("conv2", c3), ("dense", d1)]
    return "conv", [2, 32, 32], layers, 0.2


def stride(kind):
    """`conv` is stride 1, `conv2` stride 2."""
    return 2 if kind == "conv2" else 1


def shapes(in_shape, layers):
    out = []
    shape = list(in_shape)
    for kind, w in layers:
        if kind.startswith("conv"):
            s = stride(kind)
            shape = [w.shape[0], (shape[1] - w.shape[2]) // s + 1, (shape[2] - w.shape[3]) // s + 1]
        else:
            shape = [w.shape[0]]
        out.append(shape)
    return out


def write_snn(d: Path, in_shape, layers):
    """spikeforge's text format, tensors in .npy files beside it."""
    lines = ["snn 1", f"input = Input<shape={list(in_shape)}>()"]
    prev, shape = "input", list(in_shape)
    for i, ((kind, w), out) in enumerate(zip(layers, shapes(in_shape, layers))):
        np.save(d / f"w{i}.npy", w)
        if kind.startswith("conv"):
            s = stride(kind)
            lines.append(
                f'syn{i} = Conv2d<weight=file("w{i}.npy"), bias=full([{w.shape[0]}], 0.0), '
                f"stride=[{s}, {s}], padding=[0, 0]>({prev})"
            )
        else:
            if len(shape) > 1:
                lines.append(f"flat{i} = Flatten<start_dim=0, end_dim=-1>({prev})")
                prev = f"flat{i}"
            lines.append(f'syn{i} = Affine<weight=file("w{i}.npy"), bias=full([{w.shape[0]}], 0.0)>(syn_in{i})')
            lines[-1] = lines[-1].replace(f"syn_in{i}", prev)
        full = lambda v: f"full({out}, {v})"
        lines.append(f"if{i} = IF<r={full(1.0)}, v_threshold={full(1.0)}, v_reset={full(0.0)}>(syn{i})")
        prev, shape = f"if{i}", out
    lines.append(f"output = Output<shape={shape}>({prev})")
    (d / "model.snn").write_text("\n".join(lines) + "\n")


def spikeforge_run(exe, d: Path, x):
    np.save(d / "x.npy", x.astype(np.uint8))
    t0 = time.perf_counter()
    out = subprocess.run(
        [exe, "compile", d / "model.snn", "--target", "loihi", "--dt", "1", "-o", d / "m.map", "--verbose"],
        check=True, capture_output=True, text=True,
    ).stdout
    t1 = time.perf_counter()
    subprocess.run(
        [exe, "simulate", d / "m.map", "--input", d / "x.npy", "--output", d / "y.npy", "--layers",
         d / "l.npy", "--stats", d / "s.json", "--timing", "pipelined", "--threads", "1"],
        check=True, capture_output=True, text=True,
    )
    t2 = time.perf_counter()
    stats = json.loads((d / "s.json").read_text())
    layers = np.load(d / "l.npy")
    return out, stats, layers, (t1 - t0, t2 - t1)


def placement(verbose: str):
    """Per population (input first): list of (first, end, core index in SANA-FE's
    arch.cores()), from the core lines of `compile --verbose`."""
    names = re.findall(r"^\s+#\d+ `([^`]*)`", verbose, re.M)
    pops = [[] for _ in names]
    for m in re.finditer(r"^\s+c\d+ chip\(0,0\)/tile\((\d+),(\d+)\)/(\d+) `[^`]*`: (.*)$", verbose, re.M):
        x, y, slot = map(int, m.groups()[:3])
        core = (x * 4 + y) * 4 + slot  # SANA-FE: tile id = x * height + y, 4 cores a tile
        for name, a, b in re.findall(r"`([^`]*)`\[(\d+)\.\.(\d+)\)", m.group(4)):
            pops[names.index(name)].append((int(a), int(b), core))
    return pops


def sanafe_run(in_shape, layers, x, pops):
    arch = sanafe.load_arch(str(resources.files("sanafe.examples") / "loihi.yaml"))
    t0 = time.perf_counter()
    net = sanafe.Network()
    # SANA-FE takes a synapse's unit from its *postsynaptic* neuron (chip.cpp).
    kinds = [k for k, _ in layers]
    hw = {"dense": "loihi_dense_synapse", "conv": "loihi_conv_synapse", "conv2": "loihi_conv_synapse"}
    n_in = int(np.prod(in_shape))
    groups = [net.create_neuron_group("input", n_in, model_attributes={}, log_spikes=True)]
    for i, out in enumerate(shapes(in_shape, layers)):
        attrs = {"threshold": 1.0, "reset": 0.0, "leak_decay": 1.0, "input_decay": 0.0}
        groups.append(net.create_neuron_group(f"l{i}", int(np.prod(out)), model_attributes=attrs, log_spikes=True,
                                              soma_hw_name="loihi_lif", default_synapse_hw_name=hw[kinds[i]]))
    # An input neuron needs its own input soma on its core (1,024 a core).
    for n in range(n_in):
        groups[0].neurons[n].set_attributes(soma_hw_name=f"loihi_inputs[{n % 1024}]",
                                            model_attributes={"spikes": [bool(v) for v in x[0, :, n]]})
    shape = list(in_shape)
    for i, (kind, w) in enumerate(layers):
        src, dst = groups[i], groups[i + 1]
        if kind.startswith("conv"):
            # SANA-FE's filter order: [ky][kx][c_in][c_out]; neurons channel-first as PyTorch.
            s = stride(kind)
            src.connect_neurons_conv2d(dst, {"weight": list(w.transpose(2, 3, 1, 0).flatten())}, shape[2], shape[1],
                                       shape[0], w.shape[3], w.shape[2], w.shape[0], s, s)
        else:
            src.connect_neurons_dense(dst, {"weight": list(w.T.flatten())})
        shape = shapes(in_shape, layers)[i]
    cores = arch.cores()
    # spikeforge injects input from the host at the destination core's router; SANA-FE
    # needs the input neurons on a core: the last cores, which spikeforge leaves unused.
    used = {c for pieces in pops[1:] for _, _, c in pieces}
    # The free cores nearest the first destination, so the input's messages hop least.
    tile = lambda c: divmod(c // 4, 4)  # (x, y)
    dest = tile(pops[1][0][2])
    free = sorted((c for c in range(len(cores)) if c not in used),
                  key=lambda c: (abs(tile(c)[0] - dest[0]) + abs(tile(c)[1] - dest[1]), c))
    in_cores = [free[n // 1024] for n in range(n_in)]
    for n in range(n_in):
        groups[0].neurons[n].map_to_core(cores[in_cores[n]])
    for g, pieces in zip(groups[1:], pops[1:]):
        for a, b, c in pieces:
            for n in range(a, b):
                g.neurons[n].map_to_core(cores[c])
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    t1 = time.perf_counter()
    steps = x.shape[1]
    r = chip.sim(steps, spike_trace=True, perf_trace=True)
    t2 = time.perf_counter()
    return r, groups, in_cores, (t1 - t0, t2 - t1)


def input_traffic(in_shape, layers, x, pops, in_cores):
    """Hops (east-west, north-south) of SANA-FE's input messages: one message per spike
    and destination core of the input neuron, from the core it sits on."""
    kind, w = layers[0]
    out = shapes(in_shape, layers)[0]
    core_of = np.zeros(int(np.prod(out)), dtype=np.int64)
    for a, b, c in pops[1]:
        core_of[a:b] = c
    tile = lambda c: divmod(c // 4, 4)  # (x, y)
    spikes = x[0].sum(axis=0)
    ew = ns = 0
    for n in range(int(np.prod(in_shape))):
        if not spikes[n]:
            continue
        if kind.startswith("conv"):
            s, (k_y, k_x) = stride(kind), w.shape[2:]
            _, iy, ix = np.unravel_index(n, in_shape)
            oys = [o for o in range(out[1]) if 0 <= iy - o * s < k_y]
            oxs = [o for o in range(out[2]) if 0 <= ix - o * s < k_x]
            dest = {int(core_of[np.ravel_multi_index((co, oy, ox), out)])
                    for co in range(out[0]) for oy in oys for ox in oxs}
        else:
            dest = set(core_of.tolist())
        sx, sy = tile(in_cores[n])
        for c in dest:
            dx, dy = tile(c)
            ew += int(spikes[n]) * abs(dx - sx)
            ns += int(spikes[n]) * abs(dy - sy)
    return ew, ns


def layer_spikes_sanafe(r, groups):
    index = {g.get_name(): i for i, g in enumerate(groups)}
    counts = [0] * len(groups)
    for step in r["spike_trace"]:
        for a in step:
            counts[index[a.group_name]] += 1
    return counts


def compare(exe, build, rng, steps):
    name, in_shape, layers, rate = build(rng)
    n_in = int(np.prod(in_shape))
    x = (rng.random((1, steps, n_in)) < rate).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_snn(d, in_shape, layers)
        verbose, st, sf_layers, (sf_setup, sf_run) = spikeforge_run(exe, d, x.reshape([1, steps, *in_shape]))
    pops = placement(verbose)
    r, groups, in_cores, (sa_setup, sa_run) = sanafe_run(in_shape, layers, x, pops)
    in_ew, in_ns = input_traffic(in_shape, layers, x, pops, in_cores)
    sa_layers = layer_spikes_sanafe(r, groups)
    perf = r["perf_trace"]
    rows = []

    def row(label, a, b):
        ratio = "" if not b else f"{a / b:8.3f}"
        rows.append(f"  {label:<34}{a:>16,.6g}{b:>16,.6g}  {ratio}")

    n_neurons = n_in + sum(int(np.prod(s)) for s in shapes(in_shape, layers))
    print(f"{name}: {n_neurons:,} neurons with the input, {len(st['memory'])} Loihi cores, {steps} steps, "
          f"input rate {rate}, seed 0")
    print(f"  {'':<34}{'spikeforge':>16}{'SANA-FE':>16}  ratio")
    row("spikes, input", int(x.sum()), sa_layers[0])
    for i in range(len(layers)):
        row(f"spikes, layer {i + 1}", int(sf_layers[..., i].sum()), sa_layers[i + 1])
    row("synaptic events", st["synapse_reads"], int(np.sum(perf["spikes"])))
    row("messages (input included)", st["packets"] + st["loopback_packets"] + st["host_packets"], r["packets_sent"])
    row("hops (SANA-FE: input's included)", st["hops"], int(np.sum(perf["hops"])))
    row("  without input messages' hops", st["hops"], int(np.sum(perf["hops"])) - in_ew - in_ns)
    e = st["energy_pj"]
    sa_e = r["energy"]
    row("energy total (uJ)", e["total"] / 1e6, sa_e["total"] * 1e6)
    # SANA-FE's input neurons send messages from a core: 111 pJ each, 3.0 pJ an east-west
    # hop, 4.2 pJ north-south; spikeforge's host input costs the chip nothing to send.
    in_net = (st["host_packets"] * 111.0 + in_ew * 3.0 + in_ns * 4.2) * 1e-6
    row("  without input messages (uJ)", e["total"] / 1e6, sa_e["total"] * 1e6 - in_net)
    row("  synapse (uJ)", e["synapse"] / 1e6, sa_e.get("synapse", 0) * 1e6)
    row("  neuron (uJ)", e["neuron"] / 1e6, sa_e.get("soma", 0) * 1e6)
    row("  messages + routing (uJ)", (e["spike_out"] + e["routing"]) / 1e6, sa_e.get("network", 0) * 1e6)
    row("    without input messages (uJ)", (e["spike_out"] + e["routing"]) / 1e6,
        sa_e.get("network", 0) * 1e6 - in_net)
    row("latency per step, mean (us)", st["latency_us_per_step_mean"], r["sim_time"] / steps * 1e6)
    row("wall time, set-up (s)", sf_setup, sa_setup)
    row("wall time, run (s)", sf_run, sa_run)
    for line in rows:
        print(line)
    print(f"  speed: spikeforge {sa_run / sf_run:.1f}x faster (run), {(sa_setup + sa_run) / (sf_setup + sf_run):.1f}x (set-up + run)")
    print(f"  ({st['stored_synapses']:,} synapses in spikeforge's map)")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spikeforge", default=str(ROOT / "target/release/spikeforge"))
    ap.add_argument("--steps", type=int, default=32,
                    help="time steps (more steps make the speed rows less about process start-up)")
    ap.add_argument("--only", choices=["mlp", "conv"], help="run one network only")
    a = ap.parse_args()
    version = subprocess.run([a.spikeforge, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# examples/sanafe_compare.py: {version}; sanafe {metadata.version('sanafe')}; "
          f"numpy {np.__version__}; python {sys.version.split()[0]}")
    print("# spikeforge: loihi preset, --timing pipelined, --numeric exact; SANA-FE: its loihi.yaml, detailed timing")
    print()
    for build in (mlp, conv):
        if a.only in (None, build.__name__):
            compare(a.spikeforge, build, np.random.default_rng(0), a.steps)


if __name__ == "__main__":
    main()
