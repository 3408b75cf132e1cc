"""Host functions on the fast path, called by a real component, with every kind of value."""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import pytest
import wasmtime
import wasmtime.component as wc
from wasmtime import _ffi as ffi

from tests.engine.calls.calls_guest import API, IFACE
from tests.engine.calls.memory import heap_in_use, rss
from wasmesh.engine.calls import ExportFunc, define_func, define_resource
from wasmesh.engine.types import FuncSig, ResourceNames, sig_from_wasmtime
from wasmesh.engine.values import Err, Ok, Record, Some, Variant
from wasmesh.errors import GuestTrap, WitValueError


@pytest.fixture(scope="module")
def sigs(engine: wasmtime.Engine, calls_component: wc.Component) -> dict[str, FuncSig]:
    """The host interface's signatures, as the component declares them."""
    iface: Any = calls_component.type.imports(engine)[IFACE].ty  # a ComponentInstanceType
    items: dict[str, Any] = iface.exports(engine)
    names = ResourceNames()
    for n, it in items.items():
        if isinstance(it.ty, wc.ResourceType):
            names.add(it.ty, n)
    funcs = {n: it.ty for n, it in items.items() if isinstance(it.ty, wc.FuncType)}
    return {n: sig_from_wasmtime(fty, names) for n, fty in funcs.items()}


def echo_host(sigs: dict[str, FuncSig], impls: dict[str, Any] | None = None) -> Any:
    impls = impls or {}

    def define(inst: wc.LinkerInstance) -> None:
        blob = define_resource(inst, "blob")
        for name, sig in sigs.items():
            default = (lambda *a: a) if name == "scalars" else (lambda *a: a[0] if a else None)
            impl = impls.get(name, default)
            define_func(inst, name, sig, impl, resources={"blob": blob})

    return define


def export(store: wasmtime.Store, inst: wc.Instance, name: str) -> ExportFunc:
    return ExportFunc(store, inst, f"{API}#{name}")


POINT = Record(x=-7, name="ünïcode", tags=["a", "", "long" * 50])

CASES: list[tuple[str, tuple[Any, ...], Any]] = [
    ("scalars", (True, -128, 65535, -(2**31), 2**64 - 1, 1.5, -2.25, "€"),
     (True, -128, 65535, -(2**31), 2**64 - 1, 1.5, -2.25, "€")),
    ("scalars", (False, 127, 0, 2**31 - 1, 0, float("inf"), 1e300, "\U0001f600"),
     (False, 127, 0, 2**31 - 1, 0, float("inf"), 1e300, "\U0001f600")),
    ("echo-string", ("héllo wörld",), "héllo wörld"),
    ("echo-string", ("",), ""),
    ("echo-point", (POINT,), POINT),
    ("echo-point", ({"x": 1, "name": "m", "tags": []},), Record(x=1, name="m", tags=[])),
    ("echo-bytes", (bytes(range(256)),), bytes(range(256))),
    ("echo-bytes", (b"",), b""),
    ("echo-bytes", ([1, 2, 3],), b"\x01\x02\x03"),
    ("echo-points", ([POINT, Record(x=2, name="b", tags=["z"])],),
     [POINT, Record(x=2, name="b", tags=["z"])]),
    ("echo-points", ([],), []),
    ("echo-shape", (Variant("circle", 2.5),), Variant("circle", 2.5)),
    ("echo-shape", (Variant("rect", (3, 4)),), Variant("rect", (3, 4))),
    ("echo-shape", ("empty",), Variant("empty")),
    ("echo-color", ("blue",), "blue"),
    ("echo-perms", ({"read", "exec"},), frozenset({"read", "exec"})),
    ("echo-perms", (set(),), frozenset()),
    ("echo-opt", (None,), None),
    ("echo-opt", ("x",), "x"),
    ("echo-optopt", (None,), None),
    ("echo-optopt", (Some(None),), Some(None)),
    ("echo-optopt", (Some(5),), Some(5)),
    ("echo-res", (Ok(5),), Ok(5)),
    ("echo-res", (Err("bad"),), Err("bad")),
    ("echo-unit", (Ok(),), Ok()),
    ("echo-unit", (Err(),), Err()),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "expected"), CASES)
def test_every_kind_crosses_both_ways(
    instantiate: Any, sigs: dict[str, FuncSig], name: str, args: tuple[Any, ...], expected: Any
) -> None:
    seen: list[tuple[Any, ...]] = []

    def record(*a: Any) -> Any:
        seen.append(a)
        return a if name == "scalars" else a[0]

    store, inst = instantiate(echo_host(sigs, {name: record}))
    assert export(store, inst, name)(store, *args) == expected
    assert seen == [expected if name == "scalars" else (expected,)]  # the host saw it lifted


def test_a_guest_loop_calls_the_host(instantiate: Any, sigs: dict[str, FuncSig]) -> None:
    logged: list[str] = []
    store, inst = instantiate(echo_host(sigs, {"add": lambda a, b: a + b, "log": logged.append}))
    assert export(store, inst, "loop-add")(store, 1000) == 1000
    export(store, inst, "loop-log")(store, 3)
    assert logged == ["hello from the guest"] * 3


def test_host_exception_becomes_a_trap_with_its_message(
    instantiate: Any, sigs: dict[str, FuncSig]
) -> None:
    def fail(s: str) -> str:
        raise RuntimeError(f"disk full while writing {s}")

    store, inst = instantiate(echo_host(sigs, {"echo-string": fail}))
    with pytest.raises(GuestTrap, match="disk full while writing abc") as info:
        export(store, inst, "echo-string")(store, "abc")
    assert "RuntimeError" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)  # the original, chained


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("echo-string", 42, "echo-string returned a bad value: expected a str, got int"),
        ("echo-color", "purple", "expected one of red, green, blue"),
        ("echo-point", Record(x=1, name="n", tags=[3]), "field tags: element 0: expected a str"),
        ("echo-res", Ok("x"), "ok: expected an int"),
        ("add", 2**31, "out of range for s32"),
        ("log", "oops", "returned str but has no result"),
    ],
)
def test_wrong_result_type_traps_with_a_clear_message(
    instantiate: Any, sigs: dict[str, FuncSig], name: str, bad: Any, message: str
) -> None:
    store, inst = instantiate(echo_host(sigs, {name: lambda *a: bad}))
    caller = {"add": "loop-add", "log": "loop-log"}.get(name, name)
    arg = {
        "echo-string": "s", "echo-color": "red", "echo-point": POINT, "echo-res": Ok(1),
        "add": 1, "log": 1,
    }[name]  # fmt: skip
    with pytest.raises(GuestTrap, match=message) as info:
        export(store, inst, caller)(store, arg)
    assert isinstance(info.value.__cause__, WitValueError)


def test_the_store_survives_a_trap_for_the_next_instance(
    instantiate: Any, sigs: dict[str, FuncSig]
) -> None:
    calls = 0

    def flaky(s: str) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("first call fails")
        return s.upper()

    store, inst = instantiate(echo_host(sigs, {"echo-string": flaky}))
    with pytest.raises(GuestTrap):
        export(store, inst, "echo-string")(store, "a")
    store2, inst2 = instantiate(echo_host(sigs, {"echo-string": flaky}))
    assert export(store2, inst2, "echo-string")(store2, "b") == "B"


def test_no_leak_over_100k_calls_with_strings_and_lists(
    instantiate: Any, sigs: dict[str, FuncSig]
) -> None:
    store, inst = instantiate(echo_host(sigs))
    point, points = export(store, inst, "echo-point"), export(store, inst, "echo-points")
    shape, opt = export(store, inst, "echo-shape"), export(store, inst, "echo-opt")
    value = Record(x=1, name="n" * 100, tags=["t" * 50] * 4)
    for _ in range(2000):  # warm up allocator pools before measuring
        point(store, value)
    before, heap_before = rss(), heap_in_use()
    for _ in range(25_000):
        assert point(store, value)["x"] == 1
        points(store, [value])
        shape(store, Variant("rect", (1, 2)))
        opt(store, "some string")
    grown, heap_grown = rss() - before, heap_in_use() - heap_before
    assert grown < 20 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB over 100k calls"
    # Even one small box leaked per call would be >= 1.6 MB here.
    assert heap_grown < 100_000, f"the C heap grew by {heap_grown} bytes over 100k calls"


def _bare_add(
    env: Any, cx: Any, ty: Any, args: Any, nargs: int, results: Any, nresults: int
) -> int:
    r = results[0]
    r.kind = 5  # WASMTIME_COMPONENT_S32
    r.of.s32 = args[0].of.s32 + args[1].of.s32
    return 0


BARE = ffi.wasmtime_component_func_callback_t(_bare_add)
NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()  # a null callback


def test_host_functions_serve_several_threads_at_once(
    instantiate: Any, sigs: dict[str, FuncSig]
) -> None:
    # Guest code runs with the GIL released, so callbacks of different stores interleave.
    threads_seen: set[int] = set()

    def add(a: int, b: int) -> int:
        threads_seen.add(threading.get_ident())
        return a + b

    def fail_on_odd(s: str) -> str:
        if int(s) % 2:
            raise ValueError(f"odd {s}")
        return s

    results: dict[int, Any] = {}
    together = threading.Barrier(4)  # all alive at once, so thread ids are distinct

    def work(k: int) -> None:
        together.wait()
        store, inst = instantiate(echo_host(sigs, {"add": add, "echo-string": fail_on_odd}))
        total = export(store, inst, "loop-add")(store, 5000)
        try:
            echoed = export(store, inst, "echo-string")(store, str(k))
        except GuestTrap as exc:
            echoed = str(exc.__cause__)
        results[k] = (total, echoed)
        together.wait()

    pool = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert results == {k: (5000, str(k) if k % 2 == 0 else f"odd {k}") for k in range(4)}
    assert len(threads_seen) == 4
