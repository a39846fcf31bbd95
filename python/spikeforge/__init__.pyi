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
) -> Tuple[np.ndarray, Dict[str, Any], Any]:
    """Cycle-level simulation: ``(spikes, stats, steps)``; steps a DataFrame with pandas, else a list of dicts."""
