"""demo:kinds/roundtrip in Python: every function echoes its argument (see wit/kinds.wit).

The `counter` resource lives in `roundtrip.py`: componentize-py looks exported resources up
in a module named after their interface.
"""

from __future__ import annotations

from componentize_py_types import Err, Some
from wit_world import exports
from wit_world.exports import roundtrip as rt


class Roundtrip(exports.Roundtrip):
    def echo_bool(self, v: bool) -> bool:
        return v

    def echo_s8(self, v: int) -> int:
        return v

    def echo_s16(self, v: int) -> int:
        return v

    def echo_s32(self, v: int) -> int:
        return v

    def echo_s64(self, v: int) -> int:
        return v

    def echo_u8(self, v: int) -> int:
        return v

    def echo_u16(self, v: int) -> int:
        return v

    def echo_u32(self, v: int) -> int:
        return v

    def echo_u64(self, v: int) -> int:
        return v

    def echo_f32(self, v: float) -> float:
        return v

    def echo_f64(self, v: float) -> float:
        return v

    def echo_char(self, v: str) -> str:
        return v

    def echo_string(self, v: str) -> str:
        return v

    def echo_bytes(self, v: bytes) -> bytes:
        return v

    def echo_strings(self, v: list[str]) -> list[str]:
        return v

    def echo_tuple(self, v: tuple[int, str]) -> tuple[int, str]:
        return v

    def echo_shape(self, v: rt.Shape) -> rt.Shape:
        return v

    def echo_event(self, v: rt.Event) -> rt.Event:
        return v

    def echo_color(self, v: rt.Color) -> rt.Color:
        return v

    def echo_perms(self, v: rt.Perms) -> rt.Perms:
        return v

    def echo_option(self, v: str | None) -> str | None:
        return v

    def echo_nested_option(self, v: Some[int | None] | None) -> Some[int | None] | None:
        return v

    def lookup(self, name: str) -> str:
        if name == "":
            raise Err(rt.ErrorCode.NOT_FOUND)
        if name == "root":
            raise Err(rt.ErrorCode.DENIED)
        return name

    def check(self, fail: bool) -> None:
        if fail:
            raise Err("failed")

    def describe(self, a: int, b: str, c: bytes) -> str:
        return f"{a}|{b}|{c.hex()}"

    def peek(self, c: rt.Counter) -> int:
        return c.get()
