"""Sizes as people write them: `64MiB`, `1G`, `512k`, `1.5GiB` or a plain byte count.

One parser for every place a size is accepted (manifest, CLI flags, Python API), so `1G`
means the same everywhere: `K`/`M`/`G`/`T` are powers of 1000, `Ki`/`Mi`/`Gi`/`Ti` of 1024.
"""

from __future__ import annotations

import re

from wasmesh.errors import WasmeshError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")

_UNITS: dict[str, int] = {"": 1, "b": 1, "byte": 1, "bytes": 1}
for _power, _prefix in enumerate("kmgt", start=1):
    _UNITS.update({_prefix: 1000**_power, f"{_prefix}b": 1000**_power})
    _UNITS.update({f"{_prefix}i": 1024**_power, f"{_prefix}ib": 1024**_power})

_FORMS = "write bytes or a number with a unit (B, KiB, MiB, GiB, K, M, G), like 64MiB"


class SizeError(WasmeshError, ValueError):
    """A size that cannot be read."""


def parse_size(text: str | int) -> int:
    """The number of bytes `text` means; `SizeError` naming the accepted forms otherwise."""
    if isinstance(text, bool):
        raise SizeError(f"{text!r} is not a size; {_FORMS}")
    if isinstance(text, int):
        if text <= 0:
            raise SizeError(f"{text} is not a size; sizes are more than zero bytes")
        return text
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise SizeError(f"{text!r} is not a size; {_FORMS}")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise SizeError(f"{text!r} is not a size; sizes are more than zero bytes")
    return size


def format_size(size: int) -> str:
    """A byte count with the largest binary unit that keeps it whole-ish."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.1f}{unit}"
    return f"{size}B"
