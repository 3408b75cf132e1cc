"""The on-disk ahead-of-time cache of compiled components.

A component is compiled once per (sha256 of its bytes, wasmtime version, engine settings); later
loads map the cached artifact with `deserialize_file` (milliseconds instead of seconds). Entries
are written atomically; an entry that fails to deserialize (corrupt, truncated, or from another
wasmtime build) is deleted and rebuilt. Processes sharing the cache compile a component once:
the others wait on the entry's lock and then map what the first one stored.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import wasmtime
from wasmtime import component as wc

from wasmesh.engine.config import EngineSettings

FORMAT = "1"


def cache_dir() -> Path:
    """`$WASMESH_CACHE_DIR`, else `$XDG_CACHE_HOME/wasmesh`, else `~/.cache/wasmesh`."""
    explicit = os.environ.get("WASMESH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "wasmesh"


@functools.cache
def wasmtime_version() -> str:
    """Identifies the engine build: the native library's size and mtime (cheap, exact enough).

    `importlib.metadata` would cost tens of milliseconds on every start.
    """
    lib_dir = Path(wasmtime.__file__).parent
    libs = sorted(lib_dir.glob("*/_libwasmtime.*")) or sorted(lib_dir.glob("**/*wasmtime*.so"))
    if not libs:
        from importlib import metadata

        return metadata.version("wasmtime")
    st = libs[0].stat()
    return f"{st.st_size}-{st.st_mtime_ns}"


def artifact_key(digest: str, settings: EngineSettings) -> str:
    material = f"{FORMAT};{digest};wasmtime={wasmtime_version()};{settings.cache_tag()}"
    return hashlib.sha256(material.encode()).hexdigest()


class AotCache:
    """Compiled artifacts under one directory, keyed by `artifact_key`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or cache_dir()) / "aot"

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.cwasm"

    def load(self, engine: wasmtime.Engine, key: str) -> wc.Component | None:
        """The cached component, or None when absent or unusable (then the entry is removed)."""
        path = self.path_for(key)
        seal = path.with_suffix(".seal")
        try:
            expected = seal.read_text()
            # wasmtime checks the artifact's header, not its body: a checksum catches bit rot
            # and truncation before native code is mapped and run.
            if _seal_of(path.read_bytes()) != expected:
                raise ValueError("checksum mismatch")
            component = wc.Component.deserialize_file(engine, str(path))
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: `wasmesh cache prune` evicts the least recent
            return component
        except FileNotFoundError:
            return None
        except (OSError, ValueError, wasmtime.WasmtimeError):
            for stale in (path, seal):
                with contextlib.suppress(OSError):
                    stale.unlink()
            return None

    @contextlib.contextmanager
    def compiling(self, key: str) -> Iterator[None]:
        """Hold the entry's lock while compiling it, so concurrent processes compile it once
        (load again inside: another may have stored it meanwhile). Without a writable cache
        directory nothing is locked."""
        lock = self.path_for(key).with_suffix(".lock")
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            handle = lock.open("a")
        except OSError:
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def store(self, key: str, component: wc.Component) -> None:
        """Write atomically, so a concurrent reader never maps a half-written file."""
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            data = component.serialize()
            _write_atomic(path, bytes(data))
            _write_atomic(path.with_suffix(".seal"), _seal_of(data).encode())
        except OSError:
            # A read-only or full cache only costs the next load a recompile.
            return


def _seal_of(data: bytes | bytearray) -> str:
    return f"{len(data)}:{zlib.crc32(data):08x}"


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
