"""Ctrl-C during a long call raises KeyboardInterrupt promptly (the call runs without the
GIL on a worker thread while the caller checks for signals)."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import spikeforge as sf


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_interrupts_simulate(golden):
    d = golden / "digits_cnn"
    cm = sf.compile(sf.load(d / "model.nir"), sf.target("loihi"))
    x = np.tile(np.load(d / "input.npy"), (4, 1, 1, 1, 1))  # a few seconds of simulation
    timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        sf.simulate(cm, x, threads=1)
    elapsed = time.perf_counter() - start
    timer.cancel()
    # The whole simulation takes several seconds; the interrupt lands within a poll period.
    assert elapsed < 2.0, f"KeyboardInterrupt after {elapsed:.2f} s"
