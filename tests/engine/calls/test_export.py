"""Calling exports through `ExportFunc`: lookup, argument checks, errors, repeated calls."""

from __future__ import annotations

from typing import Any

import pytest
import wasmtime.component as wc

from tests.engine.calls.calls_guest import API, IFACE
from wasmesh.engine.calls import ExportFunc, define_func, define_resource
from wasmesh.engine.types import FuncSig, Param, ResourceNames, WitType, sig_from_wasmtime
from wasmesh.engine.values import Record
from wasmesh.errors import ExportNotFound, WitValueError


def echo_everything(engine: Any, component: wc.Component) -> Any:
    iface: Any = component.type.imports(engine)[IFACE].ty  # a ComponentInstanceType
    items: dict[str, Any] = iface.exports(engine)
    names = ResourceNames()
    for n, it in items.items():
        if isinstance(it.ty, wc.ResourceType):
            names.add(it.ty, n)
    funcs = {n: it.ty for n, it in items.items() if isinstance(it.ty, wc.FuncType)}

    def define(inst: wc.LinkerInstance) -> None:
        blob = define_resource(inst, "blob")
        for n, fty in funcs.items():
            impl = (lambda *a: a) if n == "scalars" else (lambda *a: a[0] if a else None)
            define_func(inst, n, sig_from_wasmtime(fty, names), impl, resources={"blob": blob})

    return define


@pytest.fixture
def echo(instantiate: Any, engine: Any, calls_component: wc.Component) -> Any:
    return instantiate(echo_everything(engine, calls_component))


def test_the_signature_is_read_once_from_the_export(echo: Any) -> None:
    store, inst = echo
    f = ExportFunc(store, inst, f"{API}#echo-point")
    assert [p.name for p in f.sig.params] == ["p"]
    assert f.sig.result is not None and f.sig.result.kind == "record"


def test_string_results_can_be_called_back_to_back(echo: Any) -> None:
    # If the engine still needed an explicit post-return, the second call would trap.
    store, inst = echo
    f = ExportFunc(store, inst, f"{API}#echo-string")
    assert [f(store, f"call {i}") for i in range(50)] == [f"call {i}" for i in range(50)]


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("echo-string", (3,), "argument s of .*echo-string: expected a str, got int"),
        ("echo-point", (Record(x="1", name="n", tags=[]),), "argument p of .*field x"),
        ("echo-point", ({"x": 1, "name": "n"},), "missing field tags"),
        ("echo-color", ("mauve",), "expected one of red, green, blue"),
        ("echo-perms", ({"read", "fly"},), r"unknown flags \['fly'\]"),
        ("echo-shape", (("circle", 1.0),), "expected a Variant, got tuple"),
        ("echo-shape", ("circle",), "case circle: expected a float, got NoneType"),
        ("echo-bytes", ([1, 300],), "expected bytes or a list of ints in 0..255"),
        ("scalars", (1, 0, 0, 0, 0, 0.0, 0.0, "c"), "argument a .*expected a bool, got int"),
        ("scalars", (True, 128, 0, 0, 0, 0.0, 0.0, "c"), "128 is out of range for s8"),
        ("scalars", (True, 0, -1, 0, 0, 0.0, 0.0, "c"), "-1 is out of range for u16"),
        ("scalars", (True, 0, 0, 0, 2**64, 0.0, 0.0, "c"), "out of range for u64"),
        ("scalars", (True, 0, 0, 0, 0, "1", 0.0, "c"), "argument f .*expected a float"),
        ("scalars", (True, 0, 0, 0, 0, 0.0, 0.0, "ab"), "one-character str"),
        ("scalars", (True, 0, 0, 0, 0, 0.0, 0.0, "\ud800"), "surrogate U\\+D800"),
        ("echo-string", ("\udc00",), "not valid Unicode"),
        ("echo-string", (), r"takes 1 argument \(s\), got 0"),
    ],
)
def test_bad_arguments_name_the_parameter(
    echo: Any, name: str, args: tuple[Any, ...], message: str
) -> None:
    store, inst = echo
    with pytest.raises(WitValueError, match=message):
        ExportFunc(store, inst, f"{API}#{name}")(store, *args)


def test_after_a_rejected_argument_the_instance_still_works(echo: Any) -> None:
    store, inst = echo
    f = ExportFunc(store, inst, f"{API}#echo-points")
    good = Record(x=1, name="n", tags=["t"])
    with pytest.raises(WitValueError, match="element 2: field name"):
        f(store, [good, good, Record(x=1, name=None, tags=[])])
    assert f(store, [good]) == [good]


def test_unknown_exports_are_reported(echo: Any) -> None:
    store, inst = echo
    with pytest.raises(ExportNotFound, match=r"no function named .*#nope"):
        ExportFunc(store, inst, f"{API}#nope")
    with pytest.raises(ExportNotFound, match="no interface named demo:calls/nope"):
        ExportFunc(store, inst, "demo:calls/nope#run")


def test_a_given_signature_is_used_as_is(echo: Any) -> None:
    store, inst = echo
    sig = FuncSig((Param("count", WitType("u32")),), WitType("s32"))
    # The WIT names loop-add's parameter `n`; the signature given wins, with no type query.
    f = ExportFunc(store, inst, f"{API}#loop-add", sig=sig)
    assert f.sig is sig
    with pytest.raises(WitValueError, match="argument count"):
        f(store, -1)
