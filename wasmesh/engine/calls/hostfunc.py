"""Host functions on the fast path: a ctypes callback per function, converters compiled once.

wasmtime-py's `LinkerInstance.add_func` rebuilds the function type and re-dispatches on each
value's kind on every call. `define_func` registers its own callback directly with
`wasmtime_component_linker_instance_add_func`, with a lifter per parameter and a lowerer for
the result compiled from the `FuncSig` ahead of time.

A Python exception in `impl` (or a result that does not fit the signature) becomes a trap in
the guest whose message holds the exception's text; nothing unwinds into the engine. The
exception itself is kept per thread so that the export call that trapped can chain it
(`raise GuestTrap(...) from exc`).
"""

from __future__ import annotations

import ctypes
import itertools
import threading
from collections.abc import Callable
from typing import Any

import wasmtime
import wasmtime.component as wc
from wasmtime import _ffi as ffi

from wasmesh.engine.calls import _capi as capi
from wasmesh.engine.calls.lift import compile_lift
from wasmesh.engine.calls.lower import compile_lower
from wasmesh.engine.calls.resources import ResourceScope
from wasmesh.engine.types import FuncSig
from wasmesh.errors import WitValueError

# Callbacks must outlive every linker that holds them; the engine's finalizer releases them.
_LIVE: dict[int, Any] = {}
_KEYS = itertools.count(1)
_last_host_error = threading.local()


def take_host_error(message: str) -> BaseException | None:
    """The Python exception behind the host-function trap reported as `message`, if any.

    Only the last trap raised on this thread is kept, and only returned when `message` (the
    engine's error text) carries that trap's own message.
    """
    last: tuple[str, BaseException] | None = getattr(_last_host_error, "last", None)
    _last_host_error.last = None
    if last is not None and last[0] in message:
        return last[1]
    return None


def _trap(where: str, exc: BaseException, result: bool = False) -> int:
    text = str(exc) or type(exc).__name__
    if result:
        msg = f"host function {where} returned a bad value: {text}"
    else:
        if not isinstance(exc, WitValueError):
            text = f"{type(exc).__name__}: {text}"
        msg = f"host function {where} failed: {text}"
    _last_host_error.last = (msg, exc)
    return capi.error_new(msg.encode("utf-8", "replace")) or 0


def _release_impl(key: int | None) -> None:
    live = _LIVE  # module globals may already be gone at interpreter exit
    if live is not None:
        live.pop(key or 0, None)


_release = capi.FINALIZER(_release_impl)


def define_func(
    linker_instance: wc.LinkerInstance,
    name: str,
    sig: FuncSig,
    impl: Callable[..., Any],
    *,
    resources: ResourceScope | None = None,
    label: str | None = None,
) -> None:
    """Define host function `name` in `linker_instance`, calling `impl(*args)` per call.

    Arguments arrive as Python values (see `wasmesh.engine.values`); `impl` returns the
    result (None for a function without one). `resources` maps resource names to
    `HostResource`s so `impl` can return plain objects for `own<name>` results. `label`
    names the function in trap messages (default: `name`).
    """
    where = label or name
    callback = _build(sig, impl, where, resources)
    key = next(_KEYS)
    _LIVE[key] = callback
    raw = name.encode("utf-8")
    err = ffi.wasmtime_component_linker_instance_add_func(
        linker_instance.ptr(),
        raw,
        len(raw),
        ctypes.cast(callback, ffi.wasmtime_component_func_callback_t),
        key,
        ctypes.cast(_release, ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    )
    if err:
        raise wasmtime.WasmtimeError._from_ptr(err)


_TEMPLATE = """
def call(env, cx, ty, a, na, r, nr):
    try:
        x = impl({args})
    except BaseException as exc:
        return trap(where, exc)
    {store}
"""
_STORE_RESULT = """try:
        low(r[0], x, cx)
        return 0
    except BaseException as exc:
        return trap(where, exc, result=True)"""
_STORE_NOTHING = """if x is None:
        return 0
    return trap(where, WitValueError(f"returned {type(x).__name__} but has no result"), True)"""


def _build(
    sig: FuncSig, impl: Callable[..., Any], where: str, resources: ResourceScope | None
) -> Any:
    # The callback body is generated per arity so that each argument is one direct call of
    # its lifter, with no list built and no loop on the hot path.
    lifts = [compile_lift(p.type) for p in sig.params]
    args = ", ".join(f"l{i}(a[{i}], cx)" for i in range(len(lifts)))
    store = _STORE_RESULT if sig.result is not None else _STORE_NOTHING
    ns: dict[str, Any] = {f"l{i}": lift for i, lift in enumerate(lifts)}
    ns.update(impl=impl, where=where, trap=_trap, WitValueError=WitValueError)
    if sig.result is not None:
        ns["low"] = compile_lower(sig.result, resources)
    exec(_TEMPLATE.format(args=args, store=store), ns)
    return capi.HOST_CALLBACK(ns["call"])
