"""spikeforge: compile trained spiking neural networks to neuromorphic chips and simulate
them cycle by cycle, from Python.

The same library the ``spikeforge`` command line uses does the work; errors carry the
messages and locations the CLI prints. Long calls release the GIL and stop on Ctrl-C.

    import spikeforge as sf
    model = sf.load("model.nir")            # or sf.from_nir(nir_graph)
    spikes, stats = model.run(x)            # x: [N, T, *input_shape]
    core_map = sf.compile(model, sf.target("loihi", chips="auto"))
    spikes, stats, steps = sf.simulate(core_map, x)
    rows = sf.sweep(model, sf.target("loihi"), grid={"core.max_neurons": [256, 1024]}, x=x)
    table = sf.compare(model, ["loihi", "loihi2", "speck", "spinnaker2"], x, chips="auto")
    result = sf.regress(["../shared/golden"])
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
    report,
)
from ._spikeforge import compare as _compare
from ._spikeforge import from_nir_bytes as _from_nir_bytes
from ._spikeforge import regress as _regress
from ._spikeforge import simulate as _simulate
from ._spikeforge import sweep as _sweep
from ._spikeforge import target as _target

__all__ = [
    "BadInputError",
    "CancelledError",
    "CoreMap",
    "DiffersError",
    "Error",
    "Model",
    "Target",
    "compare",
    "compile",
    "from_nir",
    "load",
    "load_map",
    "Regression",
    "regress",
    "report",
    "simulate",
    "sweep",
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


def simulate(
    core_map: CoreMap,
    x: Any,
    numeric: str = "exact",
    threads: Optional[int] = None,
    max_memory: Optional[int] = None,
    timing: Optional[str] = None,
):
    """Simulates ``core_map`` on ``x`` ``[N, T, *input_shape]`` cycle by cycle.

    Returns ``(spikes, stats, steps)``: spikes ``[N, T, n_out]`` (uint8; float64 for a graded
    output), the statistics dict (as ``spikeforge simulate --stats`` writes it, plus
    ``layer_spikes`` and ``layer_names``), and one row per (sample, step): a pandas
    DataFrame when pandas is installed, else a list of dicts. ``numeric``: ``"exact"`` (f64,
    equal to ``Model.run``) or ``"hardware"`` (the target's fixed point). ``timing``:
    ``"same-step"`` (a spike reaches the next layer in its step, as ``Model.run``),
    ``"pipelined"`` (in the next step, as Loihi runs) or ``"chip"`` (the target's
    ``timing.mode``); ``None`` = ``"same-step"``.
    """
    spikes, stats, columns = _simulate(core_map, x, numeric, threads, max_memory, timing)
    return spikes, stats, _table(columns)


def _table(columns: dict):
    try:
        import pandas
    except ImportError:
        names = list(columns)
        # NumPy columns, and `critical_core` as a list of names.
        values = [columns[n].tolist() if hasattr(columns[n], "tolist") else list(columns[n]) for n in names]
        return [dict(zip(names, row)) for row in zip(*values)]
    return pandas.DataFrame(columns)


def sweep(
    model: Model,
    target: Target,
    grid: dict,
    x: Any,
    numeric: str = "exact",
    placement: str = "optimized",
    seed: int = 0,
    jobs: Optional[int] = None,
    max_configs: Optional[int] = None,
    force: bool = False,
    semantics: Optional[str] = None,
    max_memory: Optional[int] = None,
):
    """Compiles and simulates ``model`` on ``x`` for every configuration of ``grid`` over ``target``.

    ``grid``: ``{key: [values]}`` with the keys of ``spikeforge sweep --grid`` (e.g.
    ``{"core.max_neurons": [256, 1024], "noc.mesh": [(2, 2), (4, 4)]}``); the first key
    varies slowest. Returns one row per configuration, in configuration order, with the
    columns of the sweep's results CSV (status ``fits``/``does_not_fit``/``invalid_target``/
    ``sim_failed``, cores, silicon cost, energy, latency, ``pareto``): a pandas DataFrame when
    pandas is installed, else a list of dicts. Rows depend only on their configuration, not
    on ``jobs``. Ctrl-C stops between configurations.
    """
    axes = []
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        axes.append((str(key), "[" + ", ".join(_set_value(v) for v in values) + "]"))
    _keys, rows = _sweep(model, target, axes, x, numeric, placement, seed, jobs, max_configs, force, semantics, max_memory)
    return _rows(rows)


def compare(
    model: Optional[Model],
    targets: Any,
    x: Any,
    maps: Any = None,
    chips: Optional[str] = None,
    set: Optional[dict] = None,
    out: Any = None,
    numeric: str = "exact",
    placement: str = "optimized",
    seed: int = 0,
    threads: Optional[int] = None,
    semantics: Optional[str] = None,
    max_memory: Optional[int] = None,
    print_table: bool = False,
):
    """Compiles ``model`` for each target and simulates ``x`` on it, side by side.

    ``targets``: preset names or ``.ron`` paths, each optionally with its grid of chips
    (``"loihi@2x2"``, ``"speck@auto"``); ``chips`` applies to the others, ``set`` to all.
    ``maps``: core map files compared as they are (``model`` may then be None). Returns one
    row per target with the columns of ``spikeforge compare``'s JSON entries (status and
    reason, chips, cores, latency per step and per inference, ``inferences_per_s``,
    ``energy_pj_per_inference`` — None when unknown, a lower bound when
    ``energy_partial`` — ``edp_uj_ms``, utilisation per resource): a pandas DataFrame when
    pandas is installed, else a list of dicts. ``out``: an existing folder that receives
    compare.csv/json/html and each core map with its statistics. ``print_table``: print the
    CLI's table too.
    """
    if isinstance(targets, (str, bytes)):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    if isinstance(maps, (str, bytes)) or hasattr(maps, "__fspath__"):
        maps = [maps]
    pairs = [(str(k), _set_value(v)) for k, v in (set or {}).items()]
    entries, table = _compare(
        model, list(targets or []), x, list(maps) if maps else None, chips, pairs, out, numeric, placement, seed,
        threads, semantics, max_memory,
    )
    if print_table:
        print(table, end="")
    return _rows(entries)


class Regression:
    """What ``sf.regress`` found: ``rows`` (one per bundle × engine), ``table`` and
    ``summary`` as ``spikeforge regress`` prints them, and ``passed``."""

    def __init__(self, rows, table: str, summary: str):
        self.rows = rows
        self.table = table
        self.summary = summary

    @property
    def passed(self) -> bool:
        rows = self.rows.to_dict("records") if hasattr(self.rows, "to_dict") else self.rows
        return all(r["passed"] for r in rows)

    def __repr__(self) -> str:
        return f"<spikeforge.Regression {self.summary}>"


def regress(
    dirs: Any,
    junit: Optional[str] = None,
    context: int = 3,
    chips: Optional[str] = None,
    set: Optional[dict] = None,
    max_memory: Optional[int] = None,
) -> Regression:
    """Runs the golden bundles under ``dirs`` (one folder or a list) on every engine they name.

    Returns a :class:`Regression` (rows a DataFrame with pandas, else a list of dicts; a
    failed run is a row with ``passed`` False, not an exception). Bundles that cannot be
    read raise ``BadInputError``. ``junit``: also write JUnit XML there. ``chips``/``set``
    change the target of every bundle that names one, as ``spikeforge regress`` does.
    """
    if isinstance(dirs, (str, bytes)) or hasattr(dirs, "__fspath__"):
        dirs = [dirs]
    pairs = [(str(k), _set_value(v)) for k, v in (set or {}).items()]
    rows, table, summary = _regress(list(dirs), junit, context, chips, pairs, max_memory)
    return Regression(_rows(rows), table, summary)


def _rows(rows: list):
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows, columns=None if not rows else list(rows[0]))
