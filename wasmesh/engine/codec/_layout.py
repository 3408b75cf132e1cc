"""Layout facts shared by the binary encoder and decoder (see `binary` for the format)."""

from __future__ import annotations

import struct

from wasmesh.engine.types import WitType

CODES = {
    "bool": "?", "s8": "b", "u8": "B", "s16": "h", "u16": "H", "s32": "i", "u32": "I",
    "s64": "q", "u64": "Q", "f32": "f", "f64": "d",
}  # fmt: skip
"""`struct` codes of the fixed-size scalars; runs of them pack as one `struct.Struct`."""

U32 = struct.Struct("<I")


def runs(types: list[WitType]) -> list[tuple[int, int]]:
    """Split indices into [start, end) runs, scalar runs marked by the struct codes."""
    runs: list[tuple[int, int]] = []
    start = 0
    while start < len(types):
        end = start + 1
        if types[start].kind in CODES:
            while end < len(types) and types[end].kind in CODES:
                end += 1
        runs.append((start, end))
        start = end
    return runs


def discriminant(count: int) -> struct.Struct:
    return struct.Struct("<B" if count <= 256 else "<H" if count <= 65536 else "<I")
