"""Host resources: Python objects handed to guests as `own`/`borrow` handles.

A `HostResource` is one resource type implemented by the host (`output-stream`, `pollable`,
`incoming-request`...). It keeps a table from a 32-bit *rep* to the Python object; the guest
only ever sees an opaque handle that wasmtime maps to that rep, so it cannot forge one.

    streams = define_resource(inst, "output-stream", dtor=Stream.close)
    scope = {"output-stream": streams}  # the names the signatures' own<>/borrow<> carry
    # `own<output-stream>` result: return the object, it enters the table.
    define_func(inst, "get-stdout", get_stdout_sig, lambda: Stream(1), resources=scope)
    # `borrow<output-stream>` parameter: the method receives the object itself.
    define_func(inst, "[method]output-stream.write", write_sig, Stream.write, resources=scope)

Signatures carry resource names when read with `sig_from_wasmtime(fty, ResourceNames)`;
`wasmesh.capabilities.python_host` does all of this from a class, for whole interfaces.

How values cross, in both directions (host functions and export calls alike):

- `own<T>`, T a host resource. Host to guest: the object (it gets a table entry), or
  `T.own(obj)` where the resource names are not known. Guest to host: the object, removed
  from the table (the host owns it again, so the destructor will not run for it).
- `borrow<T>`, T a host resource. Host to guest: an object already in the table. Guest to
  host: the object, which stays in the table.
- A guest-defined resource: a `wasmtime.component.ResourceAny` both ways (the receiver
  calls `.drop(store)` when done with an owned one).

The destructor runs when the guest drops its last `own` handle (`resource.drop`); the
object leaves the table then. The table belongs to the resource type, shared by every store
instantiated from the linker; wasmtime does not run destructors for handles still held when
a store is discarded, so `HostResource.clear()` exists to release what is left.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
from collections.abc import Callable, Mapping
from typing import Any

import wasmtime
import wasmtime.component as wc
from wasmtime import _ffi as ffi

from wasmesh.engine.calls import _capi as capi
from wasmesh.engine.types import WitType
from wasmesh.errors import WitValueError

Dtor = Callable[[Any], None]

# Host resource type ids start high so they do not collide with ids other code picks by hand.
_TYPE_IDS = itertools.count(0x57A5_0001)
_BY_TYPE_ID: dict[int, HostResource] = {}


class HostResource:
    """One host-implemented resource type and the table of its live objects."""

    def __init__(self, name: str, dtor: Dtor | None = None) -> None:
        self.name = name
        self.dtor = dtor
        self.type_id = next(_TYPE_IDS)
        self.type = wc.ResourceType.host(self.type_id)
        self._objects: dict[int, Any] = {}
        self._reps: dict[int, int] = {}  # id(object) -> rep, to borrow an object back
        self._next_rep = itertools.count(1)
        self._lock = threading.Lock()
        _BY_TYPE_ID[self.type_id] = self

    def __repr__(self) -> str:
        return f"HostResource({self.name!r}, live={len(self)})"

    def __len__(self) -> int:
        """How many objects are currently held by guests."""
        return len(self._objects)

    def own(self, obj: Any) -> wc.ResourceHost:
        """An `own` handle for `obj`, to pass where wasmesh cannot infer the resource type."""
        return wc.ResourceHost.own(self.insert(obj), self.type_id)

    def borrow(self, obj: Any) -> wc.ResourceHost:
        """A `borrow` handle for `obj` (which stays in the table)."""
        return wc.ResourceHost.borrow(self.rep_of(obj, insert=True), self.type_id)

    def insert(self, obj: Any) -> int:
        """Put `obj` in the table and return its rep."""
        with self._lock:
            while True:
                rep = next(self._next_rep) & 0xFFFF_FFFF
                if rep and rep not in self._objects:
                    break
            self._objects[rep] = obj
            self._reps[id(obj)] = rep
        return rep

    def rep_of(self, obj: Any, insert: bool = False) -> int:
        rep = self._reps.get(id(obj))
        if rep is not None and self._objects.get(rep) is obj:
            return rep
        if insert:
            return self.insert(obj)
        raise WitValueError(
            f"the {self.name} object given as a borrowed handle is not held by any guest; "
            "pass it as an owned handle first"
        )

    def get(self, rep: int) -> Any:
        """The object behind `rep`."""
        try:
            return self._objects[rep]
        except KeyError:
            raise WitValueError(f"no live {self.name} resource has rep {rep}") from None

    def take(self, rep: int) -> Any:
        """Remove and return the object behind `rep` (its ownership went back to the host)."""
        with self._lock:
            obj = self._objects.pop(rep, None)
            if obj is None:
                raise WitValueError(f"no live {self.name} resource has rep {rep}")
            self._reps.pop(id(obj), None)
        return obj

    def clear(self) -> None:
        """Drop every object still in the table, running the destructor on each."""
        with self._lock:
            objs = list(self._objects.values())
            self._objects.clear()
            self._reps.clear()
        if self.dtor is not None:
            for obj in objs:
                self.dtor(obj)

    def _dropped(self, rep: int) -> None:
        with self._lock:
            obj = self._objects.pop(rep, None)
            if obj is not None:
                self._reps.pop(id(obj), None)
        if obj is not None and self.dtor is not None:
            self.dtor(obj)


def _on_guest_drop_impl(env: int | None, context: int | None, rep: int) -> int:
    try:
        hr = _BY_TYPE_ID.get(env or 0)
        if hr is not None:
            hr._dropped(rep)
        return 0
    except BaseException as exc:  # never let an exception unwind into the engine
        msg = f"destructor of host resource failed: {type(exc).__name__}: {exc}"
        return capi.error_new(msg.encode("utf-8", "replace")) or 0


def _no_finalizer_impl(env: int | None) -> None:
    return None


_on_guest_drop = capi.RESOURCE_DTOR(_on_guest_drop_impl)
_no_finalizer = capi.FINALIZER(_no_finalizer_impl)


def define_resource(
    linker_instance: wc.LinkerInstance,
    name: str | HostResource,
    dtor: Dtor | None = None,
    *,
    alias: str | None = None,
) -> HostResource:
    """Define resource type `name` in `linker_instance`, implemented by Python objects.

    `dtor(obj)` runs when a guest drops its last owned handle to `obj`. Given a
    `HostResource` made beforehand, defines that one (under its own name, or under `alias`:
    a WIT type alias such as `type headers = fields` names the same resource twice).
    """
    hr = name if isinstance(name, HostResource) else HostResource(name, dtor)
    raw = (alias or hr.name).encode("utf-8")
    on_drop = ctypes.cast(_on_guest_drop, ffi.wasmtime_component_resource_destructor_t)
    fin = ctypes.cast(_no_finalizer, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
    err = ffi.wasmtime_component_linker_instance_add_resource(
        linker_instance.ptr(), raw, len(raw), hr.type.ptr(), on_drop, hr.type_id, fin
    )
    if err:
        raise wasmtime.WasmtimeError._from_ptr(err)
    return hr


# --- values ------------------------------------------------------------------------------

ResourceScope = Mapping[str, HostResource]
_ANY_P = ctypes.POINTER(ffi.wasmtime_component_resource_any_t)
_HOST_P = ctypes.POINTER(ffi.wasmtime_component_resource_host_t)
_c_void_p = ctypes.c_void_p
_addressof = ctypes.addressof


def lift_handle(v: Any, cx: int) -> Any:
    """Lift the resource handle in value `v`: a host object or a guest `ResourceAny`."""
    handle = v.of.resource
    host = _c_void_p()
    # to_host reads the handle without taking it: the value keeps its own for its delete.
    err = capi.any_to_host(cx, handle, _addressof(host))
    if err:  # a guest-defined resource: hand over a clone of the handle, which we own
        capi.error_delete(err)
        mine = capi.any_clone(handle)
        return wc.ResourceAny._from_ptr(ctypes.cast(ctypes.c_void_p(mine), _ANY_P))
    h = host.value
    tid, rep, owned = capi.host_type(h), capi.host_rep(h), capi.host_owned(h)
    hr = _BY_TYPE_ID.get(tid)
    if hr is None:  # a host resource defined outside wasmesh
        return wc.ResourceHost._from_ptr(ctypes.cast(ctypes.c_void_p(h), _HOST_P))
    capi.host_delete(h)
    return hr.take(rep) if owned else hr.get(rep)


def compile_lower_handle(
    ty: WitType, scope: ResourceScope | None
) -> Callable[[Any, Any, int], None]:
    """A lowerer for `own`/`borrow` values of `ty`."""
    owned = ty.kind == "own"
    hr = scope.get(ty.resource) if scope is not None and ty.resource is not None else None

    def lower(v: Any, x: Any, cx: int) -> None:
        if isinstance(x, wc.ResourceAny):
            ptr = capi.any_clone(x.ptr())
        else:
            if isinstance(x, wc.ResourceHost):
                host, mine = x.ptr(), False
            elif hr is not None:
                rep = hr.insert(x) if owned else hr.rep_of(x)
                host, mine = capi.host_new(owned, rep, hr.type_id), True
            else:
                what = f"resource {ty.resource}" if ty.resource else "resource"
                raise WitValueError(
                    f"expected a {what} handle, got {type(x).__name__}; "
                    "wrap a host object with HostResource.own()"
                )
            out = ctypes.c_void_p()
            err = capi.host_to_any(cx, host, ctypes.addressof(out))
            if mine:
                capi.host_delete(host)
            if err:
                raise WitValueError(f"cannot pass the handle: {capi.error_message(err)}")
            ptr = out.value
        ctypes.c_void_p.from_address(ctypes.addressof(v) + capi.OF).value = ptr
        v.kind = capi.K_RESOURCE

    return lower
