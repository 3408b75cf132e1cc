"""The epoch ticker: what makes a store's deadline stop a guest that loops.

The epoch advances from a native thread (`ticker.c`, compiled once with the machine's C
compiler into the cache directory and loaded with ctypes), so deadlines hold while Python
threads fight over the GIL. Without a C compiler a Python thread ticks instead, and a warning
says that deadlines may slip under load.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import wasmtime
from wasmtime import _ffi as ffi

from wasmesh.engine.cache import cache_dir

log = logging.getLogger("wasmesh.engine")

SOURCE = Path(__file__).with_name("ticker.c")
_LIB: ctypes.CDLL | None = None
_LOCK = threading.Lock()


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and (found := shutil.which(name)):
            return found
    return None


def native_library() -> ctypes.CDLL | None:
    """The compiled ticker (built on first use, keyed by its source), or None without a C
    compiler or when the build fails."""
    global _LIB
    with _LOCK:
        if _LIB is not None:
            return _LIB
        source = SOURCE.read_bytes()
        out = cache_dir() / "native" / f"ticker-{hashlib.sha256(source).hexdigest()[:16]}.so"
        if not out.exists():
            cc = _compiler()
            if cc is None:
                return None
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(f".{os.getpid()}.tmp")
            cmd = [cc, "-O2", "-shared", "-fPIC", "-pthread", "-o", str(tmp), str(SOURCE)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                log.warning("building the native epoch ticker failed: %s", done.stderr.strip())
                tmp.unlink(missing_ok=True)
                return None
            tmp.replace(out)  # atomic: concurrent workers each build, one wins
        lib = ctypes.CDLL(str(out))
        lib.wasmesh_start_ticker.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long]
        lib.wasmesh_start_ticker.restype = ctypes.c_int
        _LIB = lib
        return lib


def start_ticker(engine: wasmtime.Engine, interval: float) -> str:
    """Advance `engine`'s epoch every `interval` seconds for the rest of the process; returns
    "native" or "python" (the fallback)."""
    lib = native_library()
    if lib is not None:
        tick = ctypes.cast(ffi.dll.wasmtime_engine_increment_epoch, ctypes.c_void_p).value
        # The thread ticks its own reference to the engine (never freed): the engine object
        # may be torn down at interpreter exit while the thread still runs.
        own = ffi.wasmtime_engine_clone(engine.ptr())
        engine_ptr = ctypes.cast(own, ctypes.c_void_p).value
        err = lib.wasmesh_start_ticker(tick, engine_ptr, int(interval * 1e9))
        if err == 0:
            return "native"
        log.warning("starting the native epoch ticker failed (%s)", os.strerror(err))
    else:
        log.warning("no C compiler for the native epoch ticker: deadlines may slip under load")

    def tick_forever() -> None:
        while True:
            time.sleep(interval)
            engine.increment_epoch()

    threading.Thread(target=tick_forever, name="wasmesh-epoch", daemon=True).start()
    return "python"
