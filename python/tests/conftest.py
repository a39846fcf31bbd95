"""Shared paths: the repository, the golden cases (../shared/golden beside it) and the CLI
binary when cargo has built one (for comparing messages with the command line's)."""

import os
import pathlib
import shutil

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = REPO.parent / "shared" / "golden"


def cli_binary():
    """The spikeforge CLI built in this checkout (release or debug), or None."""
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ("debug", "release"):
        exe = target / profile / "spikeforge"
        if exe.exists():
            return exe
    found = shutil.which("spikeforge")
    return pathlib.Path(found) if found else None


@pytest.fixture
def golden():
    if not GOLDEN.is_dir():
        pytest.fail(f"{GOLDEN} is missing: the golden cases are needed")
    return GOLDEN
