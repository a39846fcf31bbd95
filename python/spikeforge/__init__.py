"""spikeforge: compile trained spiking neural networks to neuromorphic chips and simulate
them cycle by cycle, from Python.

The same library the ``spikeforge`` command line uses does the work; errors carry the
messages and locations the CLI prints. Long calls release the GIL and stop on Ctrl-C.

    import spikeforge as sf
    model = sf.load("model.nir")            # or sf.from_nir(nir_graph)
    spikes, stats = model.run(x)            # x: [N, T, *input_shape]
    core_map = sf.compile(model, sf.target("loihi", chips="auto"))
    spikes, stats, steps = sf.simulate(core_map, x)
"""

from __future__ import annotations

import io
from typing import Any, Optional

from ._spikeforge import (
    BadInputError,
    CancelledError,
    CoreMap,
    DiffersError,
    Error,
    Model,
    Target,
    compile,
    load,
    load_map,
)
from ._spikeforge import from_nir_bytes as _from_nir_bytes
from ._spikeforge import simulate as _simulate
from ._spikeforge import target as _target

__all__ = [
    "BadInputError",
    "CancelledError",
    "CoreMap",
    "DiffersError",
    "Error",
    "Model",
    "Target",
    "compile",
    "from_nir",
    "load",
    "load_map",
    "simulate",
    "target",
]


def from_nir(graph: Any, name: str = "<nir graph>", max_memory: Optional[int] = None) -> Model:
    """A model from a ``nir.NIRGraph`` held in memory (e.g. snnTorch's ``export_to_nir``).

    The graph is serialised to a NIR (HDF5) image in memory, never a file, and read by the
    same reader as ``sf.load``; ``name`` stands for the file in messages.
    """
    import nir

    buf = io.BytesIO()
    nir.write(buf, graph)
    return _from_nir_bytes(buf.getvalue(), name, max_memory)


def target(name: str, chips: Optional[str] = None, set: Optional[dict] = None, max_memory: Optional[int] = None) -> Target:
    """A target chip by preset name (``"loihi"``) or ``.ron`` path.

    ``chips``: ``"CxR"`` (e.g. ``"4x3"``) or ``"auto"`` (compile picks the smallest grid the
    model fits on). ``set``: field overrides with the paths of ``sweep --grid``, e.g.
    ``{"core.synapse_memory_kib": 256}``, applied in order before ``chips``.
    """
    pairs = [(str(k), _set_value(v)) for k, v in (set or {}).items()]
    return _target(name, chips, pairs, max_memory)


def _set_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (tuple, list)) and len(v) == 2:
        return f"{v[0]}x{v[1]}"
    return str(v)


def simulate(core_map: CoreMap, x: Any, numeric: str = "exact", threads: Optional[int] = None, max_memory: Optional[int] = None):
    """Simulates ``core_map`` on ``x`` ``[N, T, *input_shape]`` cycle by cycle.

    Returns ``(spikes, stats, steps)``: spikes ``[N, T, n_out]`` (uint8; float64 for a graded
    output), the statistics dict (as ``spikeforge simulate --stats`` writes it, plus
    ``layer_spikes`` and ``layer_names``), and one row per (sample, step): a pandas
    DataFrame when pandas is installed, else a list of dicts. ``numeric``: ``"exact"`` (f64,
    equal to ``Model.run``) or ``"hardware"`` (the target's fixed point).
    """
    spikes, stats, columns = _simulate(core_map, x, numeric, threads, max_memory)
    return spikes, stats, _table(columns)


def _table(columns: dict):
    try:
        import pandas
    except ImportError:
        names = list(columns)
        values = [columns[n].tolist() for n in names]
        return [dict(zip(names, row)) for row in zip(*values)]
    return pandas.DataFrame(columns)
