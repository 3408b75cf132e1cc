"""Instance pools: first-come-first-served slots, and components that cannot serve HTTP."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.wat import wat_component
from wasmesh.errors import ComponentError
from wasmesh.triggers.http.instances import InstancePool, Slots


def test_slots_serve_waiters_in_arrival_order() -> None:
    slots = Slots(1)
    assert slots.acquire()
    order: list[int] = []

    def waiter(i: int) -> None:
        assert slots.acquire(timeout=10)
        order.append(i)
        slots.release()

    threads = []
    for i in range(5):
        t = threading.Thread(target=waiter, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.02)  # arrive one after another
    slots.release()
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2, 3, 4]


def test_slots_time_out_and_give_up_their_turn() -> None:
    slots = Slots(1)
    assert slots.acquire()
    assert not slots.acquire(timeout=0.05)
    slots.release()
    assert slots.acquire(timeout=0.05)  # the timed-out waiter did not keep the slot


def test_a_component_without_an_http_handler_is_refused() -> None:
    plain = wat_component("(component (core module $m) (core instance (instantiate $m)))")
    with pytest.raises(ComponentError, match="does not export wasi:http/incoming-handler"):
        InstancePool(plain)
