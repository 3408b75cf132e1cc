"""Sizes and durations written by people in manifests and on the command line.

One parser for every place a size is accepted, so `64MiB` means the same thing in
`wasmesh.toml`, in runtime settings and on the CLI.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")

# `Ki`/`KiB` are 1024s, `K`/`KB` 1000s, as `wasmesh.runtime.grants.parse_size` reads them.
_UNITS: dict[str, int] = {"": 1, "b": 1, "byte": 1, "bytes": 1}
for _power, _prefix in enumerate("kmgt", start=1):
    _UNITS.update({_prefix: 1000**_power, f"{_prefix}b": 1000**_power})
    _UNITS.update({f"{_prefix}i": 1024**_power, f"{_prefix}ib": 1024**_power})


def parse_size(text: str | int) -> int:
    """Parse `64MiB`, `1G`, `512k`, `1.5GiB` or a plain byte count into bytes.

    Raises `ValueError` with the accepted forms when the text is not a size.
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a size; write bytes or a number with a unit like 64MiB")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"{text} is not a size; sizes are not negative")
        return text
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(
            f"{text!r} is not a size; write bytes or a number with a unit "
            "(B, KiB, MiB, GiB, K, M, G), like 64MiB"
        )
    assert unit is not None
    return int(float(match.group(1)) * _UNITS[unit])


def format_size(size: int) -> str:
    """Render a byte count with the largest binary unit that keeps it whole-ish."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.1f}{unit}"
    return f"{size}B"
