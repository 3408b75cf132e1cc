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
from typing import Any

import wasmtime

from wasmesh.capabilities.wasip2 import wasi_config
from wasmesh.engine.config import deadline_ticks, shared_engine
from wasmesh.engine.faults import guest_error
from wasmesh.engine.loader import CORE_VERSION, WASM_MAGIC
from wasmesh.engine.resident import new_store
from wasmesh.errors import (
    ComponentError,
    ExportNotFound,
    GuestError,
    GuestExit,
    LinkError,
    WasmeshError,
)
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


def _instance(
    loaded: LoadedModule, policy: Policy, argv: tuple[str, ...] = ()
) -> tuple[wasmtime.Store, Any]:
    """A store under the grants and limits, and the module instantiated in it."""
    engine = loaded.engine
    store = new_store(engine)
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
    return store, linker.instantiate(store, loaded.module)


def _guest_failure(loaded: LoadedModule, policy: Policy, e: Exception) -> Exception:
    err = guest_error(e, memory_limited=policy.limits.memory_bytes is not None)
    if isinstance(err, GuestError):
        return err
    return LinkError(f"{loaded.label} could not be run: {e}")


def run_module(loaded: LoadedModule, policy: Policy, argv: tuple[str, ...] = ()) -> int:
    """Run the module's `_start` under the grants and limits; returns its exit status."""
    if not loaded.is_command:
        raise ExportNotFound(
            f"{loaded.label} is a WASI preview1 module without `_start` (a reactor), not a "
            "command; call its exports with `wasmesh invoke`, or build it as a command."
        )
    try:
        store, instance = _instance(loaded, policy, argv)
        start = instance.exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        start(store)
    except wasmtime.ExitTrap as e:
        return e.code
    except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
        raise _guest_failure(loaded, policy, e) from None
    return 0


_NUMBERS = {"i32": int, "i64": int, "f32": float, "f64": float}


def invoke_module(
    loaded: LoadedModule, name: str, args: list[str], policy: Policy
) -> list[int | float]:
    """Call the module's exported function `name` with numeric `args` (text), as
    `wasmtime run --invoke` does: a reactor's `_initialize` runs first. Its results."""
    func_type = next(
        (
            e.type
            for e in loaded.module.exports
            if e.name == name and isinstance(e.type, wasmtime.FuncType)
        ),
        None,
    )
    if func_type is None:
        funcs = [e.name for e in loaded.module.exports if isinstance(e.type, wasmtime.FuncType)]
        raise ExportNotFound(
            f"{loaded.label} (a core WebAssembly module) exports no function `{name}`; "
            f"it exports {', '.join(funcs) or 'none'}."
        )
    params = [str(p) for p in func_type.params]
    if len(args) != len(params):
        raise WasmeshError(
            f"`{name}` takes {len(params)} argument(s) ({', '.join(params) or 'none'}), "
            f"got {len(args)}."
        )
    values: list[int | float] = []
    for text, kind in zip(args, params, strict=True):
        convert = _NUMBERS.get(kind)
        if convert is None:
            raise WasmeshError(f"`{name}` takes a {kind}, which the command line cannot give.")
        try:
            values.append(convert(text))
        except ValueError:
            raise WasmeshError(f"argument {text!r} is not a valid {kind}.") from None
    try:
        store, instance = _instance(loaded, policy)
        exports = instance.exports(store)
        init = exports.get("_initialize") if hasattr(exports, "get") else None
        if isinstance(init, wasmtime.Func):
            init(store)
        func = exports[name]
        assert isinstance(func, wasmtime.Func)
        result = func(store, *values)
    except wasmtime.ExitTrap as e:
        raise GuestExit(e.code) from None
    except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
        raise _guest_failure(loaded, policy, e) from None
    if result is None:
        return []
    return list(result) if isinstance(result, (list, tuple)) else [result]
