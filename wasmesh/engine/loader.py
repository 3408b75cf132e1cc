"""Loading components: validate the file, compile once, map the AOT artifact afterwards."""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import component as wc

from wasmesh.engine.cache import AotCache, artifact_key
from wasmesh.engine.config import is_fuel_engine, settings_for, shared_engine
from wasmesh.engine.world import World, describe
from wasmesh.errors import ComponentError

WASM_MAGIC = b"\0asm"
CORE_VERSION = b"\x01\x00\x00\x00"
COMPONENT_LAYER = b"\x0d\x00\x01\x00"
SLOW_COMPILE_BYTES = 1 << 20


@dataclass
class LoadedComponent:
    """A compiled component with its identity and (lazily read) world."""

    component: wc.Component
    digest: str
    engine: wasmtime.Engine
    path: Path | None = None
    from_cache: bool = False
    _world: World | None = field(default=None, repr=False)

    @property
    def world(self) -> World:
        if self._world is None:
            self._world = describe(self.component, self.engine)
        return self._world

    @property
    def label(self) -> str:
        return str(self.path) if self.path else f"component {self.digest[:12]}"


_MEMO: dict[tuple[Any, ...], LoadedComponent] = {}
_MEMO_LOCK = threading.Lock()


def read_component_bytes(path: str | Path) -> bytes:
    """The file's bytes, after checking it is a component; one-sentence errors otherwise."""
    p = Path(path)
    if not p.exists():
        raise ComponentError(f"{p}: no such file; give the path of a .wasm component.")
    if p.is_dir():
        raise ComponentError(f"{p} is a directory; give the path of a .wasm component.")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ComponentError(f"{p} cannot be read: {e.strerror}.") from None
    check_component_bytes(data, str(p))
    return data


def check_component_bytes(data: bytes, label: str) -> None:
    if len(data) < 8 or data[:4] != WASM_MAGIC:
        if data[:1] == b"(" or data.lstrip()[:1] == b"(":
            raise ComponentError(
                f"{label} looks like WebAssembly text; compile it first with `wasm-tools parse`."
            )
        raise ComponentError(f"{label} is not a WebAssembly file (no \\0asm header).")
    if data[4:8] == CORE_VERSION:
        raise ComponentError(
            f"{label} is a core WebAssembly module, not a component; `wasmesh run` and "
            "`wasmesh invoke` take a WASI preview1 module as it is, anything else needs it "
            "wrapped with `wasm-tools component new` (with the preview1 adapter)."
        )
    if data[4:8] != COMPONENT_LAYER:
        raise ComponentError(
            f"{label} has an unsupported WebAssembly version/layer {data[4:8].hex()}; "
            "rebuild it with a current toolchain."
        )


def load_component(
    source: str | Path | bytes,
    *,
    fuel: bool = False,
    cache: AotCache | None = None,
    progress: bool | None = None,
) -> LoadedComponent:
    """Compile (or map from the AOT cache) a component file or its bytes."""
    path: Path | None = None
    if isinstance(source, bytes):
        data = source
        check_component_bytes(data, "the given bytes")
    else:
        path = Path(source)
        data = read_component_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    memo_key = (digest, fuel, True)
    with _MEMO_LOCK:
        hit = _MEMO.get(memo_key)
    if hit is not None:
        return hit
    engine = shared_engine(fuel)
    cache = cache or AotCache()
    key = artifact_key(digest, settings_for(fuel))
    component = cache.load(engine, key)
    if component is None:
        with cache.compiling(key):
            component = cache.load(engine, key)  # another process may have compiled it
            from_cache = component is not None
            if component is None:
                label = path.name if path else f"component {digest[:12]}"
                with _compiling(label, len(data), progress):
                    component = _compile(engine, data, path)
                cache.store(key, component)
    else:
        from_cache = True
    loaded = LoadedComponent(component, digest, engine, path, from_cache)
    with _MEMO_LOCK:
        _MEMO[memo_key] = loaded
    return loaded


def on_demand_twin(loaded: LoadedComponent) -> LoadedComponent:
    """`loaded` in the engine that allocates instances on demand (for when the pool is full):
    the same compiled artifact mapped again (from the AOT cache when it holds it)."""
    fuel = is_fuel_engine(loaded.engine)
    return _twin(loaded, (loaded.digest, fuel, False), shared_engine(fuel, pooled=False))


def resident_twin(loaded: LoadedComponent, keep_resident: int) -> LoadedComponent:
    """`loaded` in the pooled engine whose freed slots keep `keep_resident` bytes resident
    (`wasmesh.engine.footprint`): the same compiled artifact mapped again."""
    fuel = is_fuel_engine(loaded.engine)
    engine = shared_engine(fuel, keep_resident=keep_resident)
    if engine is loaded.engine:
        return loaded
    return _twin(loaded, (loaded.digest, fuel, True, keep_resident), engine)


def _twin(
    loaded: LoadedComponent, memo_key: tuple[Any, ...], engine: wasmtime.Engine
) -> LoadedComponent:
    with _MEMO_LOCK:
        hit = _MEMO.get(memo_key)
    if hit is not None:
        return hit
    fuel = is_fuel_engine(loaded.engine)
    component = AotCache().load(engine, artifact_key(loaded.digest, settings_for(fuel)))
    if component is None:
        component = wc.Component.deserialize(engine, loaded.component.serialize())
    twin = LoadedComponent(component, loaded.digest, engine, loaded.path, True)
    with _MEMO_LOCK:
        _MEMO.setdefault(memo_key, twin)
        return _MEMO[memo_key]


def is_compiled(source: str | Path, *, fuel: bool = False, cache: AotCache | None = None) -> bool:
    """Whether the AOT cache holds the component file ``source`` compiled for the engine
    ``fuel`` selects, so loading it maps the artifact instead of compiling."""
    digest = hashlib.sha256(read_component_bytes(Path(source))).hexdigest()
    return (cache or AotCache()).path_for(artifact_key(digest, settings_for(fuel))).is_file()


def _compile(engine: wasmtime.Engine, data: bytes, path: Path | None) -> wc.Component:
    try:
        return wc.Component(engine, data)
    except wasmtime.WasmtimeError as e:
        label = str(path) if path else "the given bytes"
        reason = str(e).strip().splitlines()[0] if str(e).strip() else "invalid binary"
        raise ComponentError(f"{label} is not a valid component: {reason}.") from None


_announcing = False  # `serve` and `up`: say so off a terminal too (see `announcing_compiles`)


@contextmanager
def announcing_compiles() -> Iterator[None]:
    """While the block runs, a big component compiled off a terminal prints a plain line as
    it starts and one when it is done (`wasmesh serve` and `up`: a server's log is otherwise
    silent for the half minute); elsewhere (`invoke`, embedding) only a terminal shows it."""
    global _announcing
    previous, _announcing = _announcing, True
    try:
        yield
    finally:
        _announcing = previous


@contextmanager
def _compiling(label: str, size: int, progress: bool | None) -> Iterator[None]:
    """Say so while a big component (`SLOW_COMPILE_BYTES`) compiles: a status line on a
    terminal, else (within `announcing_compiles`) a plain line when it starts and one when it
    ends; `progress` False: nothing."""
    plain = progress is None and not sys.stderr.isatty()
    if progress is False or size < SLOW_COMPILE_BYTES or (plain and not _announcing):
        yield
        return
    from wasmesh.build.progress import compile_estimate

    started = time.monotonic()
    about = f"compiling {label} ({size / 1e6:.1f} MB, first time, {compile_estimate(size)})"
    if plain:
        print(f"{about}; later starts use the cache...", file=sys.stderr, flush=True)
        yield
        took = time.monotonic() - started
        print(f"compiled {label} in {took:.1f} s", file=sys.stderr, flush=True)
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(f"{about[0].upper()}{about[1:]}; later loads use the cache"):
        yield
    console.print(f"[dim]Compiled {label} in {time.monotonic() - started:.1f} s[/dim]")
