"""Compiled lowerers: Python values to engine values (`wasmtime_component_val_t`).

`compile_lower(ty)` returns a closure `lower(val, x, cx)` that checks `x` against `ty` and
writes it into `val`. A value that does not fit raises `WitValueError` saying where
(`field name: element 2: expected str, got int`); callers prefix the parameter's name.

Memory: everything a lowered value owns (strings, vecs, payload boxes) is allocated by the
engine's own allocator, so whoever ends up owning the value (the engine for host-function
results, the caller for export arguments) frees it with `wasmtime_component_val_delete`.
A value's `kind` is written last, after its payload is complete: if lowering fails midway the
value is still the plain `bool` it started as, and partially built vecs are freed here.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from wasmtime import _ffi as ffi

from wasmesh.engine.calls import _capi as capi
from wasmesh.engine.calls.resources import ResourceScope, compile_lower_handle
from wasmesh.engine.types import INT_RANGES, WitType
from wasmesh.engine.values import Err, Ok, Some, Variant
from wasmesh.errors import WitValueError

Lower = Callable[[Any, Any, int], None]

_addressof = ctypes.addressof
_memset = ctypes.memset
OF = capi.OF


def _got(x: Any) -> str:
    return type(x).__name__


def _int(kind: str, field: str, code: int) -> Lower:
    lo, hi = INT_RANGES[kind]
    # Written out per kind (exec of a tiny template) so the store is a direct field write.
    src = f"""
def lower(v, x, cx):
    if x.__class__ is not int and (not isinstance(x, int) or isinstance(x, bool)):
        raise WitValueError(f"expected an int ({kind}), got {{_got(x)}}")
    if x < {lo} or x > {hi}:
        raise WitValueError(f"{{x}} is out of range for {kind} ({lo}..{hi})")
    v.of.{field} = x
    v.kind = {code}
"""
    ns: dict[str, Any] = {"WitValueError": WitValueError, "_got": _got}
    exec(src, ns)
    fn: Lower = ns["lower"]
    return fn


def _float(field: str, code: int) -> Lower:
    def lower(v: Any, x: Any, cx: int) -> None:
        if x.__class__ is not float and (not isinstance(x, (int, float)) or isinstance(x, bool)):
            raise WitValueError(f"expected a float, got {_got(x)}")
        setattr(v.of, field, x)
        v.kind = code

    return lower


def _lower_bool(v: Any, x: Any, cx: int) -> None:
    if x is not True and x is not False:
        raise WitValueError(f"expected a bool, got {_got(x)}")
    v.of.boolean = x
    v.kind = capi.K_BOOL


def _lower_char(v: Any, x: Any, cx: int) -> None:
    if not isinstance(x, str) or len(x) != 1:
        raise WitValueError(f"expected a one-character str, got {_got(x)} {x!r:.20}")
    c = ord(x)
    if 0xD800 <= c <= 0xDFFF:
        raise WitValueError(f"a char cannot be the surrogate U+{c:04X}")
    v.of.character = c
    v.kind = capi.K_CHAR


def _encode(x: Any) -> bytes:
    if not isinstance(x, str):
        raise WitValueError(f"expected a str, got {_got(x)}")
    try:
        return x.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise WitValueError(f"the str is not valid Unicode ({exc.reason})") from None


def _lower_string(v: Any, x: Any, cx: int) -> None:
    b = _encode(x)
    capi.byte_vec_new(_addressof(v) + OF, len(b), b)
    v.kind = capi.K_STRING


@cache
def _compile(ty: WitType, scope: _Scope) -> Lower:
    kind = ty.kind
    if kind in INT_RANGES:
        return _int(kind, kind, _INT_CODES[kind])
    if kind in ("f32", "f64"):
        return _float(kind, capi.K_F32 if kind == "f32" else capi.K_F64)
    if kind == "bool":
        return _lower_bool
    if kind == "char":
        return _lower_char
    if kind == "string":
        return _lower_string
    if kind == "enum":
        return _enum(ty)
    if kind == "flags":
        return _flags(ty)
    if kind == "list":
        assert ty.element is not None
        if ty.element.kind == "u8":
            return _bytes
        return _seq(_compile(ty.element, scope), capi.vallist_new_uninit, capi.vallist_delete,
                    capi.K_LIST, None)  # fmt: skip
    if kind == "tuple":
        lowers = tuple(_compile(t, scope) for t in ty.elements)
        return _seq(None, capi.valtuple_new_uninit, capi.valtuple_delete, capi.K_TUPLE, lowers)
    if kind == "record":
        return _record(ty, scope)
    if kind == "variant":
        cases = {n: (n.encode(), _compile(t, scope) if t else None) for n, t in ty.cases}
        return _variant(cases)
    if kind == "option":
        assert ty.element is not None
        return _option(_compile(ty.element, scope), ty.element.kind == "option")
    if kind == "result":
        ok = _compile(ty.ok, scope) if ty.ok is not None else None
        err = _compile(ty.err, scope) if ty.err is not None else None
        return _result(ok, err)
    if kind in ("own", "borrow"):
        return compile_lower_handle(ty, scope.resources)
    raise NotImplementedError(f"values of WIT kind {kind} cannot cross the call path yet")


_INT_CODES = {
    "s8": capi.K_S8, "u8": capi.K_U8, "s16": capi.K_S16, "u16": capi.K_U16,
    "s32": capi.K_S32, "u32": capi.K_U32, "s64": capi.K_S64, "u64": capi.K_U64,
}  # fmt: skip


class _Scope:
    """Hashable wrapper so the lowerer cache can key on the resource scope by identity."""

    def __init__(self, resources: ResourceScope | None) -> None:
        self.resources = resources

    def __hash__(self) -> int:
        return id(self.resources)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Scope) and other.resources is self.resources


def compile_lower(ty: WitType, resources: ResourceScope | None = None) -> Lower:
    """The lowerer for values of `ty` (cached per type and resource scope).

    `resources` maps resource names to `HostResource`s, so that a plain Python object can be
    given where an `own<name>` is expected.
    """
    return _compile(ty, _Scope(resources))


def _enum(ty: WitType) -> Lower:
    names = {n: n.encode() for n in ty.names}

    def lower(v: Any, x: Any, cx: int) -> None:
        b = names.get(x) if isinstance(x, str) else None
        if b is None:
            raise WitValueError(f"expected one of {', '.join(ty.names)}, got {x!r:.40}")
        capi.byte_vec_new(_addressof(v) + OF, len(b), b)
        v.kind = capi.K_ENUM

    return lower


def _flags(ty: WitType) -> Lower:
    names = {n: n.encode() for n in ty.names}

    def lower(v: Any, x: Any, cx: int) -> None:
        if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
            raise WitValueError(f"expected a set of flag names, got {_got(x)}")
        chosen = [names.get(n) for n in set(x)]
        if None in chosen:
            bad = sorted(str(n) for n in set(x) if n not in names)
            raise WitValueError(f"unknown flags {bad}; the flags are {', '.join(ty.names)}")
        raw = ffi.wasmtime_component_valflags_t()
        capi.valflags_new_uninit(_addressof(raw), len(chosen))
        base = ctypes.cast(raw.data, ctypes.c_void_p).value or 0
        for i, b in enumerate(chosen):
            assert b is not None
            capi.byte_vec_new(base + i * capi.NAME_SIZE, len(b), b)
        v.of.flags = raw
        v.kind = capi.K_FLAGS

    return lower


def _bytes(v: Any, x: Any, cx: int) -> None:
    if not isinstance(x, (bytes, bytearray, memoryview)):
        if not isinstance(x, (list, tuple)):
            raise WitValueError(f"expected bytes, got {_got(x)}")
        try:
            x = bytes(x)
        except (TypeError, ValueError):
            raise WitValueError("expected bytes or a list of ints in 0..255") from None
    n = len(x)
    stride = capi.VAL_SIZE
    raw = ffi.wasmtime_component_vallist_t()
    capi.vallist_new_uninit(_addressof(raw), n)
    if n:
        # Build all n element values at once: kind byte u8, the byte at the union's start.
        img = bytearray(n * stride)
        img[0::stride] = bytes((capi.K_U8,)) * n
        img[OF::stride] = x
        ctypes.memmove(raw.data, (ctypes.c_char * len(img)).from_buffer(img), len(img))
    v.of.list = raw
    v.kind = capi.K_LIST


def _seq(
    el: Lower | None, new: Any, delete: Any, code: int, lowers: tuple[Lower, ...] | None
) -> Lower:
    """Lists (one lowerer for all elements) and tuples (one per position)."""
    field = "list" if code == capi.K_LIST else "tuple"
    vec = ffi.wasmtime_component_vallist_t if field == "list" else capi.VALTUPLE
    size = capi.VAL_SIZE

    def lower(v: Any, x: Any, cx: int) -> None:
        if not isinstance(x, (list, tuple)):
            raise WitValueError(f"expected a {field}, got {_got(x)}")
        n = len(x)
        if lowers is not None and n != len(lowers):
            raise WitValueError(f"expected a tuple of {len(lowers)}, got {n} values")
        raw = vec()
        addr = _addressof(raw)
        new(addr, n)
        i = 0
        if n:
            d = raw.data
            _memset(d, 0, n * size)  # every element a valid bool until written
            try:
                if lowers is None:
                    assert el is not None
                    for i, e in enumerate(x):
                        el(d[i], e, cx)
                else:
                    for i, e in enumerate(x):
                        lowers[i](d[i], e, cx)
            except WitValueError as exc:
                delete(addr)
                raise WitValueError(f"element {i}: {exc}") from None
            except BaseException:
                delete(addr)
                raise
        setattr(v.of, field, raw)
        v.kind = code

    return lower


def _record(ty: WitType, scope: _Scope) -> Lower:
    fields = tuple(
        (name, name.replace("-", "_"), name.encode(), _compile(t, scope)) for name, t in ty.fields
    )
    n = len(fields)
    entry_size, entry_val = capi.ENTRY_SIZE, capi.ENTRY_VAL

    def lower(v: Any, x: Any, cx: int) -> None:
        is_map = isinstance(x, Mapping)
        raw = ffi.wasmtime_component_valrecord_t()
        addr = _addressof(raw)
        capi.valrecord_new_uninit(addr, n)
        base = ctypes.cast(raw.data, ctypes.c_void_p).value or 0
        _memset(base, 0, n * entry_size)
        for i, (_, _, b, _) in enumerate(fields):  # names first: they cannot fail
            capi.byte_vec_new(base + i * entry_size, len(b), b)
        name = ""
        try:
            for i, (name, attr, _, low) in enumerate(fields):
                val = (x[name] if name in x else x[attr]) if is_map else getattr(x, attr)
                low(capi.VAL.from_address(base + i * entry_size + entry_val), val, cx)
        except (KeyError, AttributeError):
            capi.valrecord_delete(addr)
            raise WitValueError(f"missing field {name} (got {_got(x)})") from None
        except WitValueError as exc:
            capi.valrecord_delete(addr)
            raise WitValueError(f"field {name}: {exc}") from None
        except BaseException:
            capi.valrecord_delete(addr)
            raise
        v.of.record = raw
        v.kind = capi.K_RECORD

    return lower


def _boxed(low: Lower, x: Any, cx: int) -> int:
    """Lower `x` into a fresh engine-owned heap value; its address."""
    tmp = capi.VAL()
    low(tmp, x, cx)
    return capi.val_new(_addressof(tmp)) or 0


def _set_ptr(addr: int, ptr: int) -> None:
    ctypes.c_void_p.from_address(addr).value = ptr or None


def _offset(struct: Any, field: str) -> int:
    offset: int = getattr(struct, field).offset
    return offset


_VARIANT_VAL = OF + _offset(ffi.wasmtime_component_valvariant_t, "val")
_RESULT_OK = OF + _offset(ffi.wasmtime_component_valresult_t, "is_ok")
_RESULT_VAL = OF + _offset(ffi.wasmtime_component_valresult_t, "val")


def _variant(cases: dict[str, tuple[bytes, Lower | None]]) -> Lower:
    def lower(v: Any, x: Any, cx: int) -> None:
        if isinstance(x, Variant):
            tag, payload = x.tag, x.value
        elif isinstance(x, str):
            tag, payload = x, None
        else:
            raise WitValueError(f"expected a Variant, got {_got(x)}")
        case = cases.get(tag)
        if case is None:
            raise WitValueError(f"unknown case {tag!r}; the cases are {', '.join(cases)}")
        b, low = case
        ptr = 0
        if low is not None:
            try:
                ptr = _boxed(low, payload, cx)
            except WitValueError as exc:
                raise WitValueError(f"case {tag}: {exc}") from None
        elif payload is not None:
            raise WitValueError(f"case {tag} has no payload, got {_got(payload)}")
        a = _addressof(v)
        capi.byte_vec_new(a + OF, len(b), b)
        _set_ptr(a + _VARIANT_VAL, ptr)
        v.kind = capi.K_VARIANT

    return lower


def _option(low: Lower, nested: bool) -> Lower:
    def lower(v: Any, x: Any, cx: int) -> None:
        if x is None:
            ptr = 0
        else:
            if isinstance(x, Some):
                x = x.value
            ptr = _boxed(low, x, cx)
        _set_ptr(_addressof(v) + OF, ptr)
        v.kind = capi.K_OPTION

    return lower


def _result(ok: Lower | None, err: Lower | None) -> Lower:
    def lower(v: Any, x: Any, cx: int) -> None:
        if isinstance(x, Ok):
            low, is_ok, where = ok, True, "ok"
        elif isinstance(x, Err):
            low, is_ok, where = err, False, "err"
        else:
            raise WitValueError(f"expected Ok(...) or Err(...), got {_got(x)}")
        ptr = 0
        if low is not None:
            try:
                ptr = _boxed(low, x.value, cx)
            except WitValueError as exc:
                raise WitValueError(f"{where}: {exc}") from None
        elif x.value is not None:
            raise WitValueError(f"{where} has no payload, got {_got(x.value)}")
        a = _addressof(v)
        ctypes.c_bool.from_address(a + _RESULT_OK).value = is_ok
        _set_ptr(a + _RESULT_VAL, ptr)
        v.kind = capi.K_RESULT

    return lower
