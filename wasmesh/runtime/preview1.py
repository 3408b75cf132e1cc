"""Running WASI preview1 core modules (`wasm32-wasip1`) as they are, like `wasmtime run`.

What most compilers emit by default (C, Rust, TinyGo, Zig, AssemblyScript) is a core module
importing `wasi_snapshot_preview1`, with a `_start` export. wasmesh runs it on wasmtime's own
preview1 implementation (`Linker.define_wasi`), configured from the same `Grants` as WASI 0.2
(`wasmesh.capabilities.wasip2.wasi_config`: argv, env, preopened dirs, stdin; nothing unless
granted) and under the same `Limits` (memory, epoch deadline, fuel). `proc_exit(n)` is the
exit status, all 32 bits of it, as under `wasmtime run`.

    module = load_module("hello.wasm")
    status = run_module(module, Policy(Grants(env=(("NAME", "x"),))), ("a",))
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from wasmesh.capabilities.wasip2 import wasi_config
from wasmesh.engine.config import deadline_ticks, shared_engine
from wasmesh.engine.faults import guest_error
from wasmesh.engine.loader import CORE_VERSION, WASM_MAGIC
from wasmesh.errors import ComponentError, ExportNotFound, GuestError, LinkError
from wasmesh.policy import Policy

PREVIEW1 = "wasi_snapshot_preview1"
NO_DEADLINE = 2**62


def is_core_module(path: str | Path) -> bool:
    """Whether the file at `path` is a core WebAssembly module (not a component)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head[:4] == WASM_MAGIC and head[4:8] == CORE_VERSION


@dataclass
class LoadedModule:
    """A compiled core module and where it came from."""

    module: wasmtime.Module
    digest: str
    engine: wasmtime.Engine
    path: Path

    @property
    def label(self) -> str:
        return str(self.path)

    @property
    def is_command(self) -> bool:
        return any(e.name == "_start" for e in self.module.exports)


_MEMO: dict[tuple[str, bool], LoadedModule] = {}
_MEMO_LOCK = threading.Lock()


def load_module(path: str | Path, *, fuel: bool = False) -> LoadedModule:
    """Compile the core module at `path` on the shared engine (memoized per content)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ComponentError(f"{p} cannot be read: {e.strerror}.") from None
    digest = hashlib.sha256(data).hexdigest()
    with _MEMO_LOCK:
        hit = _MEMO.get((digest, fuel))
    if hit is not None:
        return hit
    engine = shared_engine(fuel)
    try:
        module = wasmtime.Module(engine, data)
    except wasmtime.WasmtimeError as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else "invalid binary"
        raise ComponentError(f"{p} is not a valid WebAssembly module: {reason}.") from None
    other = sorted({i.module for i in module.imports} - {PREVIEW1})
    if other:
        raise LinkError(
            f"{p} imports from {', '.join(repr(m) for m in other)}; a core module may only "
            f"import `{PREVIEW1}` (WASI preview1). Build it as a component to link it with "
            "other components."
        )
    loaded = LoadedModule(module, digest, engine, p)
    with _MEMO_LOCK:
        _MEMO[(digest, fuel)] = loaded
    return loaded


def run_module(loaded: LoadedModule, policy: Policy, argv: tuple[str, ...] = ()) -> int:
    """Run the module's `_start` under the grants and limits; returns its exit status."""
    if not loaded.is_command:
        raise ExportNotFound(
            f"{loaded.label} is a WASI preview1 module without `_start` (a reactor), not a "
            "command; build it as a command (the default `main` entry point)."
        )
    engine = loaded.engine
    store = wasmtime.Store(engine)
    limits = policy.limits
    if limits.memory_bytes is not None:
        store.set_limits(memory_size=limits.memory_bytes)
    if limits.fuel is not None:
        if engine is not shared_engine(fuel=True):
            raise LinkError("fuel limits need the module loaded with `fuel=True`.")
        store.set_fuel(limits.fuel)
    store.set_wasi(wasi_config(policy.grants, (loaded.path.name, *argv)))
    store.set_epoch_deadline(deadline_ticks(limits.timeout) if limits.timeout else NO_DEADLINE)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    memory_limited = limits.memory_bytes is not None
    try:
        instance = linker.instantiate(store, loaded.module)
        start = instance.exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        start(store)
    except wasmtime.ExitTrap as e:
        return e.code
    except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
        err = guest_error(e, memory_limited=memory_limited)
        if isinstance(err, GuestError):
            raise err from None
        raise LinkError(f"{loaded.label} could not be run: {e}") from None
    return 0
