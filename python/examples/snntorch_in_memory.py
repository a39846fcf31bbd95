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
    except ImportError as e:
        print(f"skipped: snnTorch is not installed ({e}); `pip install snntorch` to run this example")
        return 0

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(16, 32),
        snn.Leaky(beta=0.9, init_hidden=True),
        torch.nn.Linear(32, 4),
        snn.Leaky(beta=0.9, init_hidden=True, output=True),
    )
    graph = export_to_nir(net, torch.zeros(1, 16))  # a nir.NIRGraph, in memory

    model = sf.from_nir(graph, name="snntorch net")
    print(model.check()["text"], end="")

    rng = np.random.default_rng(0)
    x = (rng.random((8, 25, 16)) < 0.3).astype(np.uint8)  # [N, T, 16] input spikes
    spikes, stats = model.run(x, semantics="snntorch")
    print(f"reference run: {int(spikes.sum())} output spikes, {stats['sops_weight_layers_per_sample']:.1f} SOPs/sample")

    core_map = sf.compile(model, sf.target("loihi", chips="auto"), semantics="snntorch")
    print(core_map.summary)
    sim_spikes, sim_stats, steps = sf.simulate(core_map, x)
    same = np.array_equal(sim_spikes, spikes)
    print(
        f"simulated: {sim_stats['cycles_total']} cycles, {len(steps)} step rows; "
        f"spikes {'equal to' if same else 'DIFFER from'} the reference run"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
