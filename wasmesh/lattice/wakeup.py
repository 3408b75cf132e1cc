"""A poll loop's pause: until the next period, or sooner when nudged."""

from __future__ import annotations

import asyncio


class Wakeup:
    """`await wait(seconds)` returns after `seconds`, or at once after `set()`.

    Not `asyncio.wait_for(event.wait(), ...)`: on Python 3.11 that can swallow a
    cancellation arriving as the event fires, and a loop built on it then never stops.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        waiter = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            waiter.cancel()
        self._event.clear()
