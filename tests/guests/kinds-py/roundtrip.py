"""The exported `counter` resource of demo:kinds/roundtrip."""

from __future__ import annotations

from typing import Self

from wit_world.exports import roundtrip as rt


class Counter(rt.Counter):
    """A running total owned by the caller."""

    def __init__(self, start: int) -> None:
        self.value = start

    def incr(self, by: int) -> int:
        self.value = (self.value + by) & 0xFFFFFFFF
        return self.value

    def get(self) -> int:
        return self.value

    @classmethod
    def zero(cls) -> Self:
        return cls(0)
