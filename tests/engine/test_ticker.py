"""The epoch ticker: a native thread, so deadlines hold while Python threads hold the GIL."""

from __future__ import annotations

import threading
import time

import pytest
import wasmtime

from wasmesh.engine.config import EPOCH_TICK_SECONDS, shared_engine
from wasmesh.engine.ticker import native_library, start_ticker

LOOP = '(module (func (export "spin") (loop br 0)))'


def test_the_shared_engine_ticks_from_a_native_thread() -> None:
    engine = shared_engine()
    assert native_library() is not None
    # The Python fallback would show up as a thread of this name.
    assert not any(t.name == "wasmesh-epoch" for t in threading.enumerate())
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, LOOP), [])
    spin = instance.exports(store)["spin"]
    assert isinstance(spin, wasmtime.Func)
    stop = threading.Event()

    def hog_the_gil() -> None:
        n = 0
        while not stop.is_set():
            n += 1

    hogs = [threading.Thread(target=hog_the_gil, daemon=True) for _ in range(4)]
    for t in hogs:
        t.start()
    try:
        store.set_epoch_deadline(round(0.5 / EPOCH_TICK_SECONDS))
        started = time.monotonic()
        with pytest.raises(wasmtime.Trap):
            spin(store)
        took = time.monotonic() - started
    finally:
        stop.set()
        for t in hogs:
            t.join()
    assert 0.4 < took < 3.0


def test_a_second_engine_gets_its_own_ticker() -> None:
    config = wasmtime.Config()
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    assert start_ticker(engine, 0.005) in ("native", "python")
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, LOOP), [])
    spin = instance.exports(store)["spin"]
    assert isinstance(spin, wasmtime.Func)
    store.set_epoch_deadline(20)
    with pytest.raises(wasmtime.Trap):
        spin(store)
    del store, instance, engine  # the ticker keeps its own reference: nothing dangles
