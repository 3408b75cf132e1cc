"""Host resources: Python objects handed to a guest as handles and back."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
import wasmtime.component as wc

from tests.engine.calls.calls_guest import API, IFACE, THINGS
from tests.engine.calls.memory import heap_in_use, rss
from wasmesh.engine.calls import ExportFunc, HostResource, define_func, define_resource
from wasmesh.engine.types import FuncSig, ResourceNames, sig_from_wasmtime
from wasmesh.errors import GuestTrap, WitValueError


class Blob:
    def __init__(self, text: str) -> None:
        self.text = text
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def blob_host(instantiate: Any, engine: Any, calls_component: wc.Component) -> Any:
    """(store, instance, the blob HostResource, events) with make-blob/peek/consume in Python."""
    iface: Any = calls_component.type.imports(engine)[IFACE].ty  # a ComponentInstanceType
    items: dict[str, Any] = iface.exports(engine)
    names = ResourceNames()
    for n, it in items.items():
        if isinstance(it.ty, wc.ResourceType):
            names.add(it.ty, n)
    sigs: dict[str, FuncSig] = {
        n: sig_from_wasmtime(it.ty, names)
        for n, it in items.items()
        if isinstance(it.ty, wc.FuncType)
    }
    events: list[tuple[str, str]] = []
    holder: list[HostResource] = []

    def define(inst: wc.LinkerInstance) -> None:
        def dtor(b: Blob) -> None:
            events.append(("dropped", b.text))
            b.close()

        blob = define_resource(inst, "blob", dtor)
        holder.append(blob)
        res = {"blob": blob}
        define_func(inst, "make-blob", sigs["make-blob"], Blob, resources=res)
        define_func(inst, "peek", sigs["peek"], lambda b: f"peek {b.text}", resources=res)

        def consume(b: Blob) -> str:
            events.append(("consumed", b.text))
            return f"consumed {b.text}"

        define_func(inst, "consume", sigs["consume"], consume, resources=res)
        for n, sig in sigs.items():
            if n not in ("make-blob", "peek", "consume"):
                define_func(inst, n, sig, unused)

    store, inst = instantiate(define)
    return store, inst, holder[0], events


def unused(*args: Any) -> None:
    raise AssertionError("not called in these tests")


def call(host: Any, name: str, *args: Any) -> Any:
    store, inst, blob, _ = host
    return ExportFunc(store, inst, f"{API}#{name}", resources={"blob": blob})(store, *args)


def test_the_guest_borrows_and_drops_a_host_object(blob_host: Any) -> None:
    _, _, blob, events = blob_host
    assert call(blob_host, "blob-roundtrip", "one") == "peek one"
    assert events == [("dropped", "one")]  # the destructor ran when the guest dropped it
    assert len(blob) == 0


def test_many_objects_come_and_go_without_residue(blob_host: Any) -> None:
    _, _, blob, events = blob_host
    for i in range(500):
        assert call(blob_host, "blob-roundtrip", str(i)) == f"peek {i}"
    assert len(events) == 500 and len(blob) == 0


def test_an_owned_handle_returned_to_the_host_is_the_object(blob_host: Any) -> None:
    _, _, blob, events = blob_host
    got = call(blob_host, "hand-out", "mine")
    assert isinstance(got, Blob) and got.text == "mine" and not got.closed
    assert len(blob) == 0 and events == []  # ownership came back: no destructor


def test_the_host_passes_its_object_into_the_guest_and_gets_it_back(blob_host: Any) -> None:
    _, _, blob, events = blob_host
    mine = Blob("given")
    # take-back hands the owned handle straight to the host's `consume`.
    assert call(blob_host, "take-back", mine) == "consumed given"
    assert events == [("consumed", "given")] and len(blob) == 0
    assert call(blob_host, "take-back", blob.own(Blob("wrapped"))) == "consumed wrapped"


def test_a_plain_object_needs_a_known_resource_type(blob_host: Any) -> None:
    store, inst, _, _ = blob_host
    f = ExportFunc(store, inst, f"{API}#take-back")  # no resource scope given
    with pytest.raises(WitValueError, match=r"argument b .*expected a resource handle, got Blob"):
        f(store, Blob("x"))


def test_a_failing_destructor_traps_with_its_message(
    instantiate: Any, engine: Any, calls_component: wc.Component
) -> None:
    iface: Any = calls_component.type.imports(engine)[IFACE].ty  # a ComponentInstanceType
    items: dict[str, Any] = iface.exports(engine)
    names = ResourceNames()
    names.add(items["blob"].ty, "blob")
    funcs = {n: it.ty for n, it in items.items() if isinstance(it.ty, wc.FuncType)}
    sigs = {n: sig_from_wasmtime(fty, names) for n, fty in funcs.items()}

    def define(inst: wc.LinkerInstance) -> None:
        def dtor(b: Blob) -> None:
            raise OSError("cannot flush")

        def peek(b: Blob) -> Any:
            return b.text

        blob = define_resource(inst, "blob", dtor)
        res = {"blob": blob}
        for n, sig in sigs.items():
            impls: dict[str, Callable[..., Any]] = {"make-blob": Blob, "peek": peek}
            impl = impls.get(n, unused)
            define_func(inst, n, sig, impl, resources=res)

    store, inst = instantiate(define)
    with pytest.raises(GuestTrap, match="cannot flush"):
        ExportFunc(store, inst, f"{API}#blob-roundtrip")(store, "x")


def test_borrowing_an_object_no_guest_holds_is_refused() -> None:
    res = HostResource("stream")
    with pytest.raises(WitValueError, match="stream object given as a borrowed handle"):
        res.rep_of(object())
    obj = object()
    rep = res.insert(obj)
    assert res.rep_of(obj) == rep and res.get(rep) is obj and len(res) == 1
    assert res.take(rep) is obj and len(res) == 0


def test_handles_do_not_leak_over_many_calls(blob_host: Any) -> None:
    store, inst, blob, events = blob_host
    roundtrip = ExportFunc(store, inst, f"{API}#blob-roundtrip", resources={"blob": blob})
    hand_out = ExportFunc(store, inst, f"{API}#hand-out", resources={"blob": blob})
    take_back = ExportFunc(store, inst, f"{API}#take-back", resources={"blob": blob})
    for _ in range(1000):  # let every table reach its steady size before measuring
        roundtrip(store, "warm")
        hand_out(store, "warm")
        take_back(store, Blob("warm"))
    blobs = [Blob(str(i)) for i in range(10_000)]
    before, heap_before, log_before = rss(), heap_in_use(), sys.getsizeof(events)
    for b in blobs:
        roundtrip(store, "x" * 64)
        assert hand_out(store, "y").text == "y"
        take_back(store, b)
    grown = rss() - before
    # The test's own event log grows on the C heap too; that is not the call path's.
    heap_grown = heap_in_use() - heap_before - (sys.getsizeof(events) - log_before)
    assert grown < 8 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB over 30k calls"
    assert heap_grown < 30_000, f"the C heap grew by {heap_grown} bytes over 30k calls"
    assert len(blob) == 0


def test_guest_resources_pass_through_as_resource_any(blob_host: Any) -> None:
    store, inst, _, _ = blob_host
    new = ExportFunc(store, inst, f"{THINGS}#[constructor]thing")
    get = ExportFunc(store, inst, f"{THINGS}#[method]thing.get")
    last_dropped = ExportFunc(store, inst, f"{THINGS}#last-dropped")
    thing = new(store, 41)
    assert isinstance(thing, wc.ResourceAny) and thing.owned
    assert get(store, thing) == 41  # lowered back as a borrow; the host keeps its handle
    assert get(store, thing) == 41
    assert last_dropped(store) == 0
    thing.drop(store)
    assert last_dropped(store) == 41  # the guest's destructor ran
    with pytest.raises(WitValueError, match=r"argument self .*expected a resource handle"):
        get(store, "not a handle")
