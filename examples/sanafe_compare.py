#!/usr/bin/env python3
"""The same two networks on SANA-FE's Loihi model and on spikeforge's `loihi` preset.

Run by hand (not by `cargo test`); SANA-FE installs from the package index:

    python3 -m venv .venv && .venv/bin/pip install sanafe==2.2.9 numpy
    cargo build --release
    .venv/bin/python examples/sanafe_compare.py > examples/sanafe_compare.txt
    .venv/bin/python examples/sanafe_compare.py --only mlp --steps 1000 \
        > examples/sanafe_compare_mlp_1000_steps.txt
    .venv/bin/python examples/sanafe_compare.py --golden > examples/sanafe_compare_golden.txt

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

--golden runs the golden models of ../shared/golden (digits_mlp, digits_cnn, rsnn_random:
snnTorch LIF, float weights and biases) on their first --samples inputs, each sample on a
freshly loaded SANA-FE chip (spikeforge also starts every sample at rest); the table sums
them. spikeforge compiles model.nir itself; the SANA-FE network is read from what
`spikeforge convert` writes (.snn), on the cores spikeforge placed each neuron on. The golden
neuron, v += a (v_leak - v) + a r I with a = dt / tau, dt = 1e-4 (v_leak = 0 in all three), is
SANA-FE's Loihi compartment with leak_decay = 1 - a, weights and biases multiplied by a r,
threshold 1 (strict in both), hard reset to 0, input_decay 0. It differs in one point:
SANA-FE truncates the potential to a multiple of 1/64 after the leak, every step, so its
spikes differ from spikeforge's (f64). Three lines under each table attribute the
differences: spikeforge's same-step run against the golden layer_spikes.npy, and a numpy
replica of the compartment in pipelined timing, in f64 against spikeforge's pipelined run
and with the 1/64 truncation against SANA-FE's. Pipelined timing is not a pure shift of the
golden spikes here: a layer integrates its bias from step 0, before the first input arrives,
so the "golden" column (same-step) is for reference and the ratio is spikeforge pipelined
over SANA-FE. SANA-FE has no pooling: digits_cnn's AvgPool2d is folded into the next conv's
weights for SANA-FE (every spike of the pooled layer reaches its targets), while spikeforge
pools at the source (one graded event per pooled value and step), so the plain digits_cnn
rows count different things; `digits_cnn+fold` gives spikeforge the same folded conv (kernel
6, stride 2, padding 2, same function) so that both run the same network. The recurrent
edge of rsnn_random is a connection of the population to itself (its bias joins the
population's bias), which both tools deliver the next step.
"""

import argparse
import json
import os
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
    with quiet_stdout():
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


def traffic_and_energy_rows(row, st, sa_events, sa_packets, sa_hops, sa_e, in_ew, in_ns):
    """The rows both tables share: synaptic events, messages, hops and energy by component,
    with and without SANA-FE's input messages (`in_ew`/`in_ns`: their hops)."""
    row("synaptic events", st["synapse_reads"], sa_events)
    row("messages (input included)", st["packets"] + st["loopback_packets"] + st["host_packets"], sa_packets)
    row("hops (SANA-FE: input's included)", st["hops"], sa_hops)
    row("  without input messages' hops", st["hops"], sa_hops - in_ew - in_ns)
    e = st["energy_pj"]
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
    traffic_and_energy_rows(row, st, int(np.sum(perf["spikes"])), r["packets_sent"], int(np.sum(perf["hops"])),
                            r["energy"], in_ew, in_ns)
    row("latency per step, mean (us)", st["latency_us_per_step_mean"], r["sim_time"] / steps * 1e6)
    row("wall time, set-up (s)", sf_setup, sa_setup)
    row("wall time, run (s)", sf_run, sa_run)
    for line in rows:
        print(line)
    print(f"  speed: spikeforge {sa_run / sf_run:.1f}x faster (run), {(sa_setup + sa_run) / (sf_setup + sf_run):.1f}x (set-up + run)")
    print(f"  ({st['stored_synapses']:,} synapses in spikeforge's map)")
    print()


# ---- Golden models (--golden) ----------------------------------------------------------

def read_safetensors(path: Path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dtypes[v["dtype"]]).reshape(v["shape"]).astype(np.float64)
    return out


def parse_value(text, d: Path):
    text = text.strip()
    m = re.fullmatch(r"full\(\[([^\]]*)\],\s*([^)]*)\)", text)
    if m:
        shape = [int(s) for s in m.group(1).split(",") if s.strip()]
        return np.full(shape, float(m.group(2)))
    m = re.fullmatch(r'file\("([^"]*)",\s*"([^"]*)"\)', text)
    if m:
        return read_safetensors(d / m.group(1))[m.group(2)]
    m = re.fullmatch(r'file\("([^"]*\.npy)"\)', text)
    if m:
        return np.load(d / m.group(1)).astype(np.float64)
    return np.array(json.loads(text), dtype=np.float64)


def read_snn(path: Path):
    """The nodes of spikeforge's text format (as `spikeforge convert` writes a NIR graph):
    name -> (op, params, inputs), in file order."""
    nodes = {}
    body = path.read_text()
    for m in re.finditer(r"^(\S+) = (\w+)<(.*?)>\(([^)]*)\)\s*$", body, re.M | re.S):
        name, op, params, inputs = m.groups()
        vals = re.findall(r"(\w+)=(full\(\[[^\]]*\],[^)]*\)|file\([^)]*\)|\[[^\]]*\]|[^,\s]+)", params)
        nodes[name] = (op, {k: parse_value(v, path.parent) for k, v in vals},
                       [s.strip() for s in inputs.split(",") if s.strip()])
    return nodes


def conv_matrix(w, in_shape, stride, padding):
    """Conv2d (PyTorch semantics, dilation 1, groups 1) as a dense [out, in] matrix of
    weights and one of connections (every tap inside the input, whatever its value)."""
    co, ci, kh, kw = w.shape
    _, h, wd = in_shape
    ho = (h + 2 * padding[0] - kh) // stride[0] + 1
    wo = (wd + 2 * padding[1] - kw) // stride[1] + 1
    val = np.zeros((co, ho, wo, ci, h, wd))
    mask = np.zeros(val.shape, dtype=bool)
    for oy in range(ho):
        for ox in range(wo):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * stride[0] - padding[0] + ky, ox * stride[1] - padding[1] + kx
                    if 0 <= iy < h and 0 <= ix < wd:
                        val[:, oy, ox, :, iy, ix] = w[:, :, ky, kx]
                        mask[:, oy, ox, :, iy, ix] = True
    n_out, n_in = co * ho * wo, ci * h * wd
    return [co, ho, wo], val.reshape(n_out, n_in), mask.reshape(n_out, n_in)


def pool_matrix(in_shape, k, s):
    c, h, w = in_shape
    ho, wo = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    m = np.zeros((c, ho, wo, c, h, w))
    for ch in range(c):
        for oy in range(ho):
            for ox in range(wo):
                m[ch, oy, ox, ch, oy * s[0]:oy * s[0] + k[0], ox * s[1]:ox * s[1] + k[1]] = 1.0 / (k[0] * k[1])
    return [c, ho, wo], m.reshape(c * ho * wo, c * h * w), m.reshape(c * ho * wo, c * h * w) > 0


def golden_network(nodes):
    """Every LIF population's input as a linear function of the spiking populations (and
    the input) that feed it, with AvgPool2d and Flatten folded into the weights: per source
    population, a weight matrix, a connection mask and the connection kind of the last
    weighted node (`dense` or `conv`), plus a constant (the biases)."""
    memo = {}

    def resolve(name):
        if name in memo:
            return memo[name]
        op, p, ins = nodes[name]
        if op in ("Input", "LIF"):
            n = int(np.prod(p["shape"])) if op == "Input" else p["tau"].size
            shape = [int(v) for v in p["shape"]] if op == "Input" else list(p["tau"].shape)
            r = (shape, {name: (np.eye(n), np.eye(n, dtype=bool), None)}, np.zeros(n))
        else:
            (shape, terms, const), = [resolve(i) for i in ins]
            if op == "Flatten":
                r = ([int(np.prod(shape))], terms, const)
            else:
                if op == "Affine":
                    new_shape, val, mask, kind = [p["weight"].shape[0]], p["weight"], np.ones(p["weight"].shape, bool), "dense"
                elif op == "Conv2d":
                    assert all(p["dilation"] == 1) and int(p["groups"]) == 1
                    new_shape, val, mask = conv_matrix(p["weight"], shape, p["stride"].astype(int), p["padding"].astype(int))
                    kind = "conv"
                elif op == "AvgPool2d":
                    assert all(p["padding"] == 0)
                    new_shape, val, mask = pool_matrix(shape, p["kernel_size"].astype(int), p["stride"].astype(int))
                    kind = None
                else:
                    raise ValueError(f"node {name}: {op} is not handled")
                terms = {src: (val @ v, (mask.astype(np.int64) @ m.astype(np.int64)) > 0, kind or k)
                         for src, (v, m, k) in terms.items()}
                bias = p["bias"].reshape(-1) if "bias" in p else np.zeros(1)
                # A convolution's bias is per channel.
                const = val @ const + np.repeat(bias, val.shape[0] // bias.size)
                r = (new_shape, terms, const)
        memo[name] = r
        return r

    inp = [n for n, (op, _, _) in nodes.items() if op == "Input"][0]
    lifs = [n for n, (op, _, _) in nodes.items() if op == "LIF"]
    pops = []
    for name in lifs:
        op, p, ins = nodes[name]
        terms, const = {}, 0.0
        for i in ins:
            _, t, c = resolve(i)
            const = const + c
            for src, (v, m, k) in t.items():
                assert src not in terms
                terms[src] = (v, m, k)
        pops.append((name, p, terms, np.asarray(const)))
    return inp, resolve(inp)[0], pops


def golden_neurons(p, const):
    """The golden LIF (forward Euler, a = dt/tau: v += a (v_leak - v) + a r I) as SANA-FE's
    Loihi compartment (v = leak_decay v + bias + sum of weights): leak_decay = 1 - a, input
    and bias scaled by a r."""
    a = 1e-4 / p["tau"].reshape(-1)
    assert np.all(p["v_leak"] == 0) and np.all(p["v_reset"] == 0)
    scale = a * p["r"].reshape(-1)
    return 1.0 - a, scale, scale * const, p["v_threshold"].reshape(-1)


def replica(inp, pops, x, quantize):
    """SANA-FE's Loihi compartment in numpy, pipelined (a spike reaches its targets the next
    step): v = q(leak v) + bias + I, spike if v > threshold, reset to 0; q truncates toward
    zero to 1/64 when `quantize`. Spikes per layer and step, [N, T, L]."""
    n, t = x.shape[:2]
    out = np.zeros((n, t, len(pops)), dtype=np.int64)
    consts = [golden_neurons(p, c) for _, p, _, c in pops]
    for s in range(n):
        prev = {inp: np.zeros(x.shape[2])} | {name: np.zeros(c[0].size) for (name, *_), c in zip(pops, consts)}
        v = [np.zeros(c[0].size) for c in consts]
        for step in range(t):
            cur = {}
            for j, ((name, p, terms, _), (leak, scale, bias, thr)) in enumerate(zip(pops, consts)):
                u = leak * v[j] if step else v[j]
                if quantize:
                    u = np.trunc(u * 64.0) / 64.0
                u = u + bias + sum((scale[:, None] * val) @ prev[src] for src, (val, _, _) in terms.items())
                fired = u > thr
                v[j] = np.where(fired, 0.0, u)
                cur[name] = fired.astype(np.float64)
                out[s, step, j] = fired.sum()
            prev = {inp: x[s, step].astype(np.float64)} | cur
    return out


def sanafe_golden(inp, n_in, pops, x, placed, arch):
    """Each sample on a freshly loaded chip (the state starts at rest, as spikeforge's does
    for every sample); counts, energy and time summed over the samples."""
    hw = {"dense": "loihi_dense_synapse", "conv": "loihi_conv_synapse"}
    cores = arch.cores()
    used = {c for name, *_ in pops for _, _, c in placed[name]}
    tile = lambda c: divmod(c // 4, 4)
    first = placed[pops[0][0]][0][2]
    free = sorted((c for c in range(len(cores)) if c not in used),
                  key=lambda c: (abs(tile(c)[0] - tile(first)[0]) + abs(tile(c)[1] - tile(first)[1]), c))
    in_cores = [free[n // 1024] for n in range(n_in)]
    tot = {"layers": np.zeros((x.shape[0], x.shape[1], len(pops)), dtype=np.int64), "events": 0, "packets": 0,
           "hops": 0, "energy": {}, "sim_time": 0.0, "setup": 0.0, "run": 0.0}
    for s in range(x.shape[0]):
        t0 = time.perf_counter()
        net = sanafe.Network()
        groups = {inp: net.create_neuron_group("input", n_in, model_attributes={}, log_spikes=True)}
        for name, p, terms, const in pops:
            kinds = {k for _, _, k in terms.values()}
            assert len(kinds) == 1, f"{name}: one synapse unit per population"
            leak, scale, bias, thr = golden_neurons(p, const)
            assert np.all(leak == leak[0]) and np.all(thr == thr[0])
            g = net.create_neuron_group(name, leak.size, log_spikes=True, soma_hw_name="loihi_lif",
                                        default_synapse_hw_name=hw[kinds.pop()],
                                        model_attributes={"threshold": float(thr[0]), "reset": 0.0,
                                                          "leak_decay": float(leak[0]), "input_decay": 0.0})
            for i in range(leak.size):
                g.neurons[i].set_attributes(model_attributes={"bias": float(bias[i])})
            groups[name] = g
        for n in range(n_in):
            groups[inp].neurons[n].set_attributes(soma_hw_name=f"loihi_inputs[{n % 1024}]",
                                                  model_attributes={"spikes": [bool(v) for v in x[s, :, n]]})
        for name, p, terms, const in pops:
            _, scale, _, _ = golden_neurons(p, const)
            for src, (val, mask, _) in terms.items():
                sr, d = np.nonzero(mask.T)  # source-major order
                groups[src].connect_neurons_sparse(groups[name], {"weight": list((scale[d] * val[d, sr]).tolist())},
                                                   list(zip(sr.tolist(), d.tolist())))
        for n in range(n_in):
            groups[inp].neurons[n].map_to_core(cores[in_cores[n]])
        for name, *_ in pops:
            for a, b, c in placed[name]:
                for n in range(a, b):
                    groups[name].neurons[n].map_to_core(cores[c])
        chip = sanafe.SpikingChip(arch)
        chip.load(net)
        t1 = time.perf_counter()
        with quiet_stdout():
            r = chip.sim(x.shape[1], spike_trace=True, perf_trace=True)
        t2 = time.perf_counter()
        index = {name: j for j, (name, *_) in enumerate(pops)}
        for step, spikes in enumerate(r["spike_trace"]):
            for a in spikes:
                if a.group_name in index:
                    tot["layers"][s, step, index[a.group_name]] += 1
        tot["events"] += int(np.sum(r["perf_trace"]["spikes"]))
        tot["hops"] += int(np.sum(r["perf_trace"]["hops"]))
        tot["packets"] += r["packets_sent"]
        for k, v in r["energy"].items():
            tot["energy"][k] = tot["energy"].get(k, 0.0) + v
        tot["sim_time"] += r["sim_time"]
        tot["setup"] += t1 - t0
        tot["run"] += t2 - t1
    return tot, in_cores


def golden_input_traffic(inp, pops, placed, x, in_cores):
    """Hops (east-west, north-south) of SANA-FE's input messages: one message per spike and
    destination core of the input neuron, from the core it sits on."""
    tile = lambda c: divmod(c // 4, 4)
    spikes = x.sum(axis=(0, 1))
    ew = ns = 0
    for name, p, terms, _ in pops:
        if inp not in terms:
            continue
        core_of = np.zeros(terms[inp][1].shape[0], dtype=np.int64)
        for a, b, c in placed[name]:
            core_of[a:b] = c
        for n in np.nonzero(spikes)[0]:
            sx, sy = tile(in_cores[n])
            for c in set(core_of[terms[inp][1][:, n]].tolist()):
                dx, dy = tile(c)
                ew += int(spikes[n]) * abs(dx - sx)
                ns += int(spikes[n]) * abs(dy - sy)
    return ew, ns


def fold_pool(text: str, nodes, d: Path):
    """The model with every AvgPool2d (kernel = stride = k, no padding) that feeds a stride-1
    Conv2d folded into that convolution: kernel k K, stride k, padding k P, every weight
    repeated k x k times and divided by k^2. Same function; every spike of the pooled
    layer then reaches its targets as SANA-FE can express it (SANA-FE has no pooling)."""
    for name, (op, p, ins) in nodes.items():
        if op != "AvgPool2d":
            continue
        k = int(p["kernel_size"][0])
        assert list(p["kernel_size"]) == [k, k] and list(p["stride"]) == [k, k] and not p["padding"].any()
        (conv,) = [n for n, (o, _, i) in nodes.items() if i == [name]]
        c_op, c, _ = nodes[conv]
        assert c_op == "Conv2d" and list(c["stride"]) == [1, 1]
        w = c["weight"].repeat(k, axis=2).repeat(k, axis=3) / (k * k)
        np.save(d / f"fold_{conv}.npy", w)
        pad = [int(v) * k for v in c["padding"]]
        text = re.sub(rf"^{re.escape(name)} = AvgPool2d<[^>]*>\([^)]*\)\n", "", text, flags=re.M)
        m = re.search(rf"^{re.escape(conv)} = Conv2d<.*?>\({re.escape(name)}\)", text, re.M | re.S)
        block = m.group(0)
        block = re.sub(r'weight=file\([^)]*\)', f'weight=file("fold_{conv}.npy")', block)
        block = re.sub(r"stride=\[[^\]]*\]", f"stride=[{k}, {k}]", block)
        block = re.sub(r"padding=\[[^\]]*\]", f"padding=[{pad[0]}, {pad[1]}]", block)
        block = block[:block.rindex("(")] + f"({ins[0]})"
        text = text.replace(m.group(0), block)
    return text


class quiet_stdout:
    """SANA-FE prints its progress on file descriptor 1."""

    def __enter__(self):
        sys.stdout.flush()
        self.saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)

    def __exit__(self, *exc):
        os.dup2(self.saved, 1)
        os.close(self.saved)


def compare_golden(exe, case_dir: Path, n_samples, arch, fold=False):
    case = case_dir.name + (", AvgPool2d folded into the next conv" if fold else "")
    x_all = np.load(case_dir / "input.npy")[:n_samples]
    golden = np.load(case_dir / "layer_spikes.npy")[:n_samples]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        subprocess.run([exe, "convert", case_dir / "model.nir", "-o", d / "model.snn"], check=True, capture_output=True)
        nodes = read_snn(d / "model.snn")
        model = case_dir / "model.nir"
        if fold:
            model = d / "folded.snn"
            model.write_text(fold_pool((d / "model.snn").read_text(), nodes, d))
            nodes = read_snn(model)
        np.save(d / "x.npy", x_all)
        t0 = time.perf_counter()
        verbose = subprocess.run([exe, "compile", model, "--target", "loihi", "-o", d / "m.map",
                                  "--verbose"], check=True, capture_output=True, text=True).stdout
        t1 = time.perf_counter()
        subprocess.run([exe, "simulate", d / "m.map", "--input", d / "x.npy", "--output", d / "y.npy", "--layers",
                        d / "l.npy", "--stats", d / "s.json", "--timing", "pipelined", "--threads", "1"],
                       check=True, capture_output=True, text=True)
        t2 = time.perf_counter()
        subprocess.run([exe, "simulate", d / "m.map", "--input", d / "x.npy", "--output", d / "y2.npy", "--layers",
                        d / "l_same.npy", "--timing", "same-step", "--threads", "1"], check=True, capture_output=True)
        st = json.loads((d / "s.json").read_text())
        sf_layers, sf_same = np.load(d / "l.npy"), np.load(d / "l_same.npy")
    sf_setup, sf_run = t1 - t0, t2 - t1
    inp, in_shape, pops = golden_network(nodes)
    n_in = int(np.prod(in_shape))
    x = x_all.reshape(x_all.shape[0], x_all.shape[1], n_in)
    names = re.findall(r"^\s+#\d+ `([^`]*)`", verbose, re.M)
    placed = dict(zip(names, placement(verbose)))
    sa, in_cores = sanafe_golden(inp, n_in, pops, x, placed, arch)
    in_ew, in_ns = golden_input_traffic(inp, pops, placed, x, in_cores)
    rep_exact, rep_q = replica(inp, pops, x, False), replica(inp, pops, x, True)
    n_steps = x.shape[0] * x.shape[1]
    rows = []

    def row(label, a, b, g=None):
        ratio = "" if not b else f"{a / b:8.3f}"
        gs = "" if g is None else f"{g:,.6g}"
        rows.append(f"  {label:<34}{gs:>14}{a:>16,.6g}{b:>16,.6g}  {ratio}")

    n_neurons = n_in + sum(p["tau"].size for _, p, _, _ in pops)
    n_syn = sum(int(m.sum()) for *_, terms, _ in pops for _, m, _ in terms.values())
    print(f"{case}: {n_neurons:,} neurons with the input, {len(st['memory'])} Loihi cores, "
          f"samples 0..{x.shape[0]} x {x.shape[1]} steps (each sample from rest)")
    print(f"  {'':<34}{'golden':>14}{'spikeforge':>16}{'SANA-FE':>16}  ratio")
    row("spikes, input", int(x.sum()), int(x.sum()), int(x.sum()))
    for j, (name, *_) in enumerate(pops):
        row(f"spikes, layer {j + 1} (`{name}`)", int(sf_layers[..., j].sum()), int(sa["layers"][..., j].sum()),
            int(golden[..., j].sum()))
    traffic_and_energy_rows(row, st, sa["events"], sa["packets"], sa["hops"], sa["energy"], in_ew, in_ns)
    e, sa_e = st["energy_pj"], sa["energy"]
    row("energy per synaptic event (pJ)", e["total"] / st["synapse_reads"], sa_e["total"] * 1e12 / sa["events"])
    row("latency per step, mean (us)", st["latency_us_per_step_mean"], sa["sim_time"] / n_steps * 1e6)
    row("wall time, set-up (s)", sf_setup, sa["setup"])
    row("wall time, run (s)", sf_run, sa["run"])
    for line in rows:
        print(line)
    print(f"  speed: spikeforge {sa['run'] / sf_run:.1f}x faster (run), "
          f"{(sa['setup'] + sa['run']) / (sf_setup + sf_run):.1f}x (set-up + run)")
    print(f"  ({st['stored_synapses']:,} synapses in spikeforge's map, {n_syn:,} in SANA-FE's)")

    def same(a, b):
        diff = np.abs(a - b).sum(axis=(0, 1))
        return "identical" if not diff.any() else "differ by " + ", ".join(f"{v:,}" for v in diff) + " per layer"

    print(f"  spikeforge same-step vs golden layer_spikes.npy: {same(sf_same, golden)} (spike counts per step)")
    print(f"  numpy replica, pipelined, f64: vs spikeforge pipelined {same(rep_exact, sf_layers)}")
    print(f"  numpy replica, pipelined, 1/64 truncation: vs SANA-FE {same(rep_q, sa['layers'])}")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spikeforge", default=str(ROOT / "target/release/spikeforge"))
    ap.add_argument("--steps", type=int, default=32,
                    help="time steps (more steps make the speed rows less about process start-up)")
    ap.add_argument("--only", choices=["mlp", "conv"], help="run one network only")
    ap.add_argument("--golden", nargs="*", metavar="CASE",
                    help="run the golden models instead (default: digits_mlp digits_cnn digits_cnn+fold rsnn_random; "
                         "+fold: AvgPool2d folded into the next conv in both tools)")
    ap.add_argument("--golden-dir", default=str(ROOT.parent / "shared/golden"))
    ap.add_argument("--samples", type=int, default=4, help="golden samples, from the first")
    a = ap.parse_args()
    version = subprocess.run([a.spikeforge, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# examples/sanafe_compare.py: {version}; sanafe {metadata.version('sanafe')}; "
          f"numpy {np.__version__}; python {sys.version.split()[0]}")
    print("# spikeforge: loihi preset, --timing pipelined, --numeric exact; SANA-FE: its loihi.yaml, detailed timing")
    print()
    if a.golden is not None:
        arch = sanafe.load_arch(str(resources.files("sanafe.examples") / "loihi.yaml"))
        for case in a.golden or ["digits_mlp", "digits_cnn", "digits_cnn+fold", "rsnn_random"]:
            compare_golden(a.spikeforge, Path(a.golden_dir) / case.removesuffix("+fold"), a.samples, arch,
                           fold=case.endswith("+fold"))
        return
    for build in (mlp, conv):
        if a.only in (None, build.__name__):
            compare(a.spikeforge, build, np.random.default_rng(0), a.steps)


if __name__ == "__main__":
    main()
