"""`bounded`: a run blocked in the kernel past its deadline is given up on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wasmesh.errors import GuestTimeout
from wasmesh.runtime.bounded import bounded


def test_a_run_blocked_opening_a_fifo_times_out(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(GuestTimeout, match=r"time limit \(0.5 s\) blocked in a host call"):
        bounded(lambda: fifo.read_bytes(), 0.5)  # no writer: open() never returns
    with open(fifo, "wb"):  # let the abandoned reader finish
        pass


def test_results_and_errors_pass_through() -> None:
    assert bounded(lambda: 7, 5) == 7
    assert bounded(lambda: 8, None) == 8
    with pytest.raises(ZeroDivisionError):
        bounded(lambda: 1 // 0, 5)
