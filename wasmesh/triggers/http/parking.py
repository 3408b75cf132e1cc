"""Instance slots lent out while a request waits on the network.

A pool's slots cap how many of its instances run at once, because running instances compete
for cores. A request whose guest is waiting (for more of a slow client's body, for a client to
read its response, for an origin to answer) uses no core: it parks, lending its slot to the
next request, and takes a slot back (first come, first served) when its wait ends. At most
`limit` requests of a pool park at once, since a parked instance keeps its memory; beyond
that, a waiting request keeps its slot.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator

from wasmesh.triggers.http.instances import InstancePool, Slots


class Parking:
    """The parking lot of one pool's slots."""

    def __init__(self, slots: Slots, limit: int) -> None:
        self.slots = slots
        self.limit = limit
        self.parked = 0
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def parked_slot(self) -> Iterator[None]:
        with self.lock:
            lend = self.parked < self.limit
            if lend:
                self.parked += 1
        if not lend:
            yield
            return
        self.slots.release()
        try:
            yield
        finally:
            self.slots.acquire(None)  # a slot holder runs for its deadline at most
            with self.lock:
                self.parked -= 1


_LOTS: weakref.WeakKeyDictionary[InstancePool, Parking] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def parking_for(pool: InstancePool, limit: int) -> Parking:
    with _LOCK:
        lot = _LOTS.get(pool)
        if lot is None:
            lot = _LOTS[pool] = Parking(pool.slots, limit)
        return lot
