"""Calling a component's export on the fast path.

`ExportFunc` looks the export up once and compiles a lowerer per parameter and a lifter for
the result; a call is then lowering, one `wasmtime_component_func_call` (the GIL is released
while the guest runs) and lifting, with no `FuncType` introspection.

wasmtime (49 and later) runs a function's post-return itself when the call completes (the C API's
`wasmtime_component_func_post_return` is deprecated and a no-op for a finished call), so a
call is complete when `func_call` returns.
"""

from __future__ import annotations

import ctypes
from typing import Any

import wasmtime
import wasmtime.component as wc
from wasmtime import _ffi as ffi

from wasmesh.engine.calls import _capi as capi
from wasmesh.engine.calls.hostfunc import take_host_error
from wasmesh.engine.calls.lift import compile_lift
from wasmesh.engine.calls.lower import compile_lower
from wasmesh.engine.calls.resources import ResourceScope
from wasmesh.engine.faults import guest_error
from wasmesh.engine.types import SCALARS, FuncSig, ResourceNames, sig_from_wasmtime
from wasmesh.errors import ExportNotFound, WitValueError

_addressof = ctypes.addressof


class ExportFunc:
    """One exported function of one instance, callable as `f(store, *args)`.

    `name` is a world-level function (`run`) or `interface#function`
    (`wasi:cli/run@0.2.6#run`). `sig` defaults to the function's own type, read once.
    `resources` maps resource names to `HostResource`s, so plain Python objects can be
    passed where an `own<name>` is expected.
    """

    def __init__(
        self,
        store: wasmtime.Store,
        instance: wc.Instance,
        name: str,
        *,
        sig: FuncSig | None = None,
        resources: ResourceScope | None = None,
    ) -> None:
        self.name = name
        parent = None
        iface, _, fname = name.rpartition("#")
        if iface:
            parent = instance.get_export_index(store, iface)
            if parent is None:
                raise ExportNotFound(f"the component exports no interface named {iface}")
        index = instance.get_export_index(store, fname, parent)
        func = instance.get_func(store, index) if index is not None else None
        if func is None or index is None:
            raise ExportNotFound(f"the component exports no function named {name}")
        self._index: wc.ExportIndex = index  # valid for every instance of the same component
        if sig is None:
            names = ResourceNames()
            for res_name, hr in (resources or {}).items():
                names.add(hr.type, res_name)  # an instance's types are the concrete host ones
            with func.type(store) as fty:
                sig = sig_from_wasmtime(fty, names)
        self.sig = sig
        self._bind(store, func)
        self._names = tuple(p.name for p in sig.params)
        self._lowers = tuple(compile_lower(p.type, resources) for p in sig.params)
        self._lift = compile_lift(sig.result) if sig.result is not None else None
        # Argument and result storage is reused across calls (a fresh one if a call is
        # already in flight); only values that own memory are deleted after a call.
        self._argv_type = capi.VAL * len(self._lowers)
        self._argv = self._argv_type()
        self._argv_base = _addressof(self._argv)
        self._owned = tuple(i for i, p in enumerate(sig.params) if p.type.kind not in SCALARS)
        self._res = capi.VAL()
        self._res_owned = sig.result is not None and sig.result.kind not in SCALARS
        self._busy = False

    def _bind(self, store: wasmtime.Store, func: wc.Func) -> None:
        self._func = func._func  # the engine's handle struct, passed by address per call
        self._func_addr = _addressof(self._func)
        self._store = store
        self._cx = capi.as_address(store._context())

    def unbound(self) -> ExportFunc:
        """A copy that keeps no store alive, only a source for `for_instance`."""
        other: ExportFunc = object.__new__(ExportFunc)
        store_bound = ("_func", "_func_addr", "_store", "_cx", "_argv", "_argv_base", "_res")
        other.__dict__.update((k, v) for k, v in self.__dict__.items() if k not in store_bound)
        return other

    def for_instance(self, store: wasmtime.Store, instance: wc.Instance) -> ExportFunc:
        """The same export of another instance of the same component, in `store`.

        Shares this one's signature, converters and export index: no lookups by name, no
        converters compiled (what a pool of instances of one component needs per instance).
        """
        func = instance.get_func(store, self._index)
        if func is None:  # only for an instance of a different component
            raise ExportNotFound(f"the component exports no function named {self.name}")
        other: ExportFunc = object.__new__(ExportFunc)
        other.__dict__.update(self.__dict__)
        other._bind(store, func)
        other._argv = self._argv_type()
        other._argv_base = _addressof(other._argv)
        other._res = capi.VAL()
        other._busy = False
        return other

    def __repr__(self) -> str:
        return f"ExportFunc({self.name!r})"

    def __call__(self, store: wasmtime.Store, *args: Any) -> Any:
        lowers = self._lowers
        n = len(lowers)
        if len(args) != n:
            raise WitValueError(
                f"{self.name} takes {n} argument{'s' if n != 1 else ''} "
                f"({', '.join(self._names)}), got {len(args)}"
            )
        if self._busy:  # re-entered from a host function: use storage of our own
            return self._call(store, args, self._argv_type(), capi.VAL())
        self._busy = True
        try:
            return self._call(store, args, self._argv, self._res)
        finally:
            self._busy = False

    def _call(self, store: wasmtime.Store, args: tuple[Any, ...], argv: Any, res: Any) -> Any:
        cx = self._cx if store is self._store else capi.as_address(store._context())
        i = 0
        try:
            for i, low in enumerate(self._lowers):
                low(argv[i], args[i], cx)
        except WitValueError as exc:
            self._free(argv, i)
            raise WitValueError(f"argument {self._names[i]} of {self.name}: {exc}") from None
        except BaseException:
            self._free(argv, i)
            raise
        lift = self._lift
        n = len(args)
        if lift is None:
            err = capi.func_call(self._func_addr, cx, argv, n, None, 0)
            self._free(argv, n)
            if err:
                self._raise(err)
            return None
        # The engine drops what `res` holds before writing the result: it must be plain.
        res.kind = 0
        err = capi.func_call(self._func_addr, cx, argv, n, ctypes.byref(res), 1)
        self._free(argv, n)
        if err:
            self._raise(err)
        if not self._res_owned:
            return lift(res, cx)
        try:
            return lift(res, cx)
        finally:
            capi.val_delete(_addressof(res))
            res.kind = 0

    def _free(self, argv: Any, upto: int) -> None:
        """Delete the lowered arguments before index `upto` that own memory."""
        base = _addressof(argv)
        for i in self._owned:
            if i >= upto:
                break
            capi.val_delete(base + i * capi.VAL_SIZE)

    def _raise(self, err: int) -> None:
        exc = wasmtime.WasmtimeError._from_ptr(
            ctypes.cast(ctypes.c_void_p(err), ctypes.POINTER(ffi.wasmtime_error_t))
        )
        cause = take_host_error(str(exc))
        raise guest_error(exc) from (cause if cause is not None else exc)
