"""Type stubs of the spikeforge Python package."""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from os import PathLike

import numpy as np
import numpy.typing as npt

_Path = Union[str, PathLike]
_Array = npt.ArrayLike

class Error(Exception):
    """Any spikeforge error."""

    message: str
    """The message exactly as the CLI prints it (after ``error: ``)."""
    location: Optional[str]
    """The file (model, input, target, core map) or argument the error is about."""
    kind: str
    """``"bad_input"``, ``"differs"`` or ``"cancelled"``."""

class BadInputError(Error):
    """Bad input or usage (the CLI's exit code 2)."""

class DiffersError(Error):
    """A comparison found spikes that differ (the CLI's exit code 1)."""

class CancelledError(Error):
    """The call was interrupted."""

class Model:
    """A verified spiking neural network."""

    @property
    def name(self) -> str: ...
    def to_nir(self) -> Any:
        """The model as a ``nir.NIRGraph`` (needs the ``nir`` package)."""
    def save(self, path: _Path) -> str:
        """Writes ``.nir`` or ``.snn`` by the extension; returns the format written."""
    def to_nir_bytes(self) -> bytes:
        """The model as a NIR (HDF5) image."""
    def check(
        self,
        semantics: Optional[str] = None,
        dt: Optional[float] = None,
        reset: Optional[str] = None,
        spike_test: Optional[str] = None,
        reset_timing: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Summary: nodes, totals, dynamics, warnings and ``text`` as ``spikeforge check`` prints."""
    def run(
        self,
        x: _Array,
        semantics: Optional[str] = None,
        dt: Optional[float] = None,
        reset: Optional[str] = None,
        spike_test: Optional[str] = None,
        reset_timing: Optional[str] = None,
        threads: int = 0,
        max_memory: Optional[int] = None,
    ) -> Tuple[np.ndarray, Dict[str, Any]]:
        """Reference run on ``x`` ``[N, T, *input_shape]``: ``(spikes [N, T, n_out], stats)``."""
    def passes(
        self,
        pipeline: str,
        calib: Optional[_Array] = None,
        train: Optional[Tuple[_Array, _Array]] = None,
        semantics: Optional[str] = None,
        dt: Optional[float] = None,
        reset: Optional[str] = None,
        spike_test: Optional[str] = None,
        reset_timing: Optional[str] = None,
        max_memory: Optional[int] = None,
    ) -> Tuple["Model", Dict[str, Any]]:
        """A pass pipeline on a copy: ``(model, report)`` with per-pass lines, scores and masks."""
    def eval(
        self,
        x: _Array,
        labels: _Array,
        passes: Optional[str] = None,
        calib: Optional[_Array] = None,
        train: Optional[Tuple[_Array, _Array]] = None,
        target: Optional["Target"] = None,
        threads: int = 0,
        semantics: Optional[str] = None,
        dt: Optional[float] = None,
        reset: Optional[str] = None,
        spike_test: Optional[str] = None,
        reset_timing: Optional[str] = None,
        max_memory: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Accuracy and cost before and after ``passes``, as ``spikeforge eval --json``.

        ``labels``: class indices ``[N]``; ``calib`` defaults to ``x`` for passes that
        calibrate; with ``target`` also the accuracy in the chip's fixed point
        (``["hardware"]``). Adds ``text`` (the CLI's lines), ``log`` and ``model_after``.
        """
    def grad(
        self,
        x: _Array,
        labels: Optional[_Array] = None,
        loss: str = "ce_count",
        surrogate: str = "atan",
        surrogate_param: Optional[float] = None,
        threads: int = 1,
        semantics: Optional[str] = None,
        dt: Optional[float] = None,
        reset: Optional[str] = None,
        spike_test: Optional[str] = None,
        reset_timing: Optional[str] = None,
        max_memory: Optional[int] = None,
    ) -> Tuple[float, Dict[str, np.ndarray]]:
        """Loss and surrogate gradient (BPTT, float64) of every ``<node>.weight`` / ``<node>.bias``.

        ``labels``: class indices ``[N]`` (default: sample i has label i mod the outputs);
        ``loss``: ce_count, mse_count or ce_membrane; ``surrogate``: atan, fast-sigmoid,
        sigmoid or triangle.
        """

class Target:
    """A chip description with overrides applied."""

    @property
    def name(self) -> str: ...
    @property
    def chips(self) -> Tuple[int, int]: ...
    @property
    def auto_chips(self) -> bool: ...
    def show(self) -> str:
        """The target with derived totals, as ``spikeforge target show`` prints it."""

class CoreMap:
    """A model mapped onto a target."""

    @property
    def warnings(self) -> List[str]:
        """Layers whose leak the chip's fixed point cannot follow (as ``compile`` warns)."""
    @property
    def report(self) -> Optional[Dict[str, Any]]: ...
    @property
    def summary(self) -> Optional[str]: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def target_name(self) -> str: ...
    @property
    def cores_used(self) -> int: ...
    def save(self, path: _Path, report: Optional[_Path] = None) -> str:
        """Writes the map atomically (and the mapping report); returns the fingerprint."""

def load(path: _Path, max_memory: Optional[int] = None) -> Model:
    """Reads and verifies a ``.nir`` or ``.snn`` model file."""

def from_nir(graph: Any, name: str = "<nir graph>", max_memory: Optional[int] = None) -> Model:
    """A model from a ``nir.NIRGraph`` in memory."""

def target(
    name: str, chips: Optional[str] = None, set: Optional[Dict[str, Any]] = None, max_memory: Optional[int] = None
) -> Target:
    """A target by preset name or ``.ron`` path; ``chips`` ``"CxR"`` or ``"auto"``; ``set`` overrides."""

def compile(
    model: Model,
    target: Target,
    placement: str = "optimized",
    seed: int = 0,
    calib: Optional[_Array] = None,
    semantics: Optional[str] = None,
    dt: Optional[float] = None,
    reset: Optional[str] = None,
    spike_test: Optional[str] = None,
    reset_timing: Optional[str] = None,
    max_memory: Optional[int] = None,
) -> CoreMap:
    """Maps ``model`` onto ``target``."""

def load_map(path: _Path, max_memory: Optional[int] = None) -> CoreMap:
    """Reads a core map written by ``compile`` or ``CoreMap.save``."""

def simulate(
    core_map: CoreMap,
    x: _Array,
    numeric: str = "exact",
    threads: Optional[int] = None,
    max_memory: Optional[int] = None,
    timing: Optional[str] = None,
) -> Tuple[np.ndarray, Dict[str, Any], Any]:
    """Cycle-level simulation: ``(spikes, stats, steps)``; steps a DataFrame with pandas, else a list of dicts."""

def sweep(
    model: Model,
    target: Target,
    grid: Dict[str, Any],
    x: _Array,
    numeric: str = "exact",
    placement: str = "optimized",
    seed: int = 0,
    jobs: Optional[int] = None,
    max_configs: Optional[int] = None,
    force: bool = False,
    semantics: Optional[str] = None,
    max_memory: Optional[int] = None,
) -> Any:
    """One row per grid configuration (the sweep CSV's columns); a DataFrame with pandas, else a list of dicts."""

def compare(
    model: Optional[Model],
    targets: Union[str, Sequence[str]],
    x: _Array,
    maps: Optional[Union[_Path, Sequence[_Path]]] = None,
    chips: Optional[str] = None,
    set: Optional[Dict[str, Any]] = None,
    out: Optional[_Path] = None,
    numeric: str = "exact",
    placement: str = "optimized",
    seed: int = 0,
    threads: Optional[int] = None,
    semantics: Optional[str] = None,
    max_memory: Optional[int] = None,
    print_table: bool = False,
) -> Any:
    """One row per target or map (``spikeforge compare``'s JSON entries); a DataFrame with pandas, else a list of dicts."""

class Regression:
    """Result of ``regress``: ``rows``, ``table``, ``summary``, ``passed``."""

    rows: Any
    table: str
    summary: str
    @property
    def passed(self) -> bool: ...

def regress(
    dirs: Any,
    junit: Optional[_Path] = None,
    context: int = 3,
    chips: Optional[str] = None,
    set: Optional[Dict[str, Any]] = None,
    max_memory: Optional[int] = None,
) -> Regression:
    """Runs golden bundles on every engine they name; a failure is a row, unreadable bundles raise."""

def report(
    core_map: CoreMap,
    x: Optional[_Array] = None,
    stats: Optional[_Path] = None,
    out: Optional[_Path] = None,
    sample: int = 0,
    numeric: Optional[str] = None,
    steps_csv: Optional[_Path] = None,
    spikes: Optional[_Path] = None,
    export_dir: Optional[_Path] = None,
    max_memory: Optional[int] = None,
) -> str:
    """The HTML report of ``core_map`` (``x`` simulated, or a run's ``stats`` JSON); written to ``out`` when given."""
