"""Build a small snnTorch network, export it to NIR in memory, compile it for Loihi and
simulate it cycle by cycle: no file is written.

    python python/examples/snntorch_in_memory.py

Needs snnTorch (and PyTorch); prints a message and exits 0 where they are not installed.
"""

import sys

import numpy as np

import spikeforge as sf


def main() -> int:
    try:
        import torch
        import snntorch as snn
        from snntorch.export_nir import export_to_nir
        from snntorch import utils as snn_utils
    except ImportError as e:
        print(f"skipped: snnTorch is not installed ({e}); `pip install snntorch` to run this example")
        return 0

    torch.manual_seed(0)
    # Per-neuron beta and threshold: with snnTorch 1.0 and nir 1.0.8, scalar parameters
    # export as shape-() LIF nodes that fail NIR's type inference ("type mismatch ... -> 1.input: []").
    def leaky(n, **kw):
        return snn.Leaky(beta=torch.full((n,), 0.9), threshold=torch.ones(n), init_hidden=True, **kw)

    net = torch.nn.Sequential(torch.nn.Linear(16, 32), leaky(32), torch.nn.Linear(32, 4), leaky(4, output=True))
    # ignore_dims=[0]: the sample's batch dimension is not part of the input type.
    graph = export_to_nir(net, torch.zeros(1, 16), ignore_dims=[0])  # a nir.NIRGraph, in memory

    model = sf.from_nir(graph, name="snntorch net")
    print(model.check()["text"], end="")

    rng = np.random.default_rng(0)
    x = (rng.random((16, 25, 16)) < 0.6).astype(np.uint8)  # [N, T, 16] input spikes
    spikes, stats = model.run(x, semantics="snntorch")
    print(f"reference run: {int(spikes.sum())} output spikes, {stats['sops_weight_layers_per_sample']:.1f} SOPs/sample")

    # snnTorch itself, step by step on the same input: the spikes must be the same.
    with torch.no_grad():
        snn_utils.reset(net)
        steps_out = []
        for t in range(x.shape[1]):
            spk, _mem = net(torch.as_tensor(x[:, t], dtype=torch.float32))
            steps_out.append(spk.numpy())
    torch_spikes = np.stack(steps_out, axis=1).astype(np.uint8)
    agree = np.array_equal(torch_spikes, spikes)
    print(
        f"snnTorch's own run: {int(torch_spikes.sum())} output spikes; "
        f"{'equal to' if agree else 'DIFFERENT from'} spikeforge's (semantics=snntorch)"
    )

    core_map = sf.compile(model, sf.target("loihi", chips="auto"), semantics="snntorch")
    print(core_map.summary)
    sim_spikes, sim_stats, steps = sf.simulate(core_map, x)
    same = np.array_equal(sim_spikes, spikes)
    print(
        f"simulated: {sim_stats['cycles_total']} cycles, {len(steps)} step rows; "
        f"spikes {'equal to' if same else 'DIFFER from'} the reference run"
    )
    return 0 if same and agree else 1


if __name__ == "__main__":
    sys.exit(main())
