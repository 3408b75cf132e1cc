"""Holding a whole guest run to its deadline, host calls included.

Epoch interruption stops a guest spinning in wasm, but not one blocked inside a host call:
wasmtime's native WASI opening a FIFO that has no peer, or a blocking read of one, waits in the
kernel where no epoch tick reaches. `bounded` runs the guest on a worker thread and gives up
waiting for it a short grace after its deadline, so `wasmesh run --timeout` returns. The
abandoned thread is a daemon: it ends with the process, which a one-shot command is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from wasmesh.errors import GuestTimeout

T = TypeVar("T")

GRACE = 1.0
"""Seconds past the deadline left to the epoch interrupt before the run is abandoned."""


def bounded(run: Callable[[], T], timeout: float | None) -> T:
    """`run()`, or `GuestTimeout` once `timeout` (+ `GRACE`) seconds pass without it ending."""
    if timeout is None:
        return run()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(run())
        except BaseException as e:  # handed to the waiting thread
            failure.append(e)

    worker = threading.Thread(target=work, name="wasmesh-guest", daemon=True)
    worker.start()
    worker.join(timeout + GRACE)
    if worker.is_alive():
        raise GuestTimeout(
            f"the guest ran past its time limit ({timeout:g} s) blocked in a host call "
            "(such as opening or reading a FIFO) and was stopped"
        )
    if failure:
        raise failure[0]
    return outcome[0]
