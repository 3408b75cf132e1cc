"""`--timeout` stops a guest blocked inside a host call, not only one spinning in wasm.

Opening a FIFO that has no writer blocks in the kernel: wasmtime's native WASI waits there
(the run is abandoned at the deadline), the Python WASI layer refuses special files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import wasmesh_process

Guest = Callable[[str], Path]


@pytest.fixture
def fifo_dir(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "pipe")
    return tmp_path


def test_native_wasi_component_blocked_on_a_fifo(guest: Guest, fifo_dir: Path) -> None:
    r = wasmesh_process(
        "run", guest("cmd-c"), "--dir", f"{fifo_dir}:/data", "--timeout", "2", "--",
        "read", "/data/pipe", timeout=90,
    )  # fmt: skip
    assert r.code == 1 and "time limit (2 s) blocked in a host call" in r.err


def test_python_wasi_refuses_a_fifo(guest: Guest, fifo_dir: Path) -> None:
    r = wasmesh_process(
        "run", guest("cmd-c"), "--allow-network", "--dir", f"{fifo_dir}:/data",
        "--timeout", "2", "--", "read", "/data/pipe", timeout=90,
    )  # fmt: skip
    assert r.code == 1 and "cannot open /data/pipe" in r.err


def test_preview1_module_blocked_on_a_fifo(guest: Guest, fifo_dir: Path) -> None:
    r = wasmesh_process(
        "run", guest("p1-c"), "--env", "FILE=/data/pipe", "--dir", f"{fifo_dir}:/data",
        "--timeout", "2", timeout=90,
    )  # fmt: skip
    assert r.code == 1 and "blocked in a host call" in r.err
