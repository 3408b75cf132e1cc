"""Sizes and durations written by people in manifests and on the command line.

One parser for every place a size is accepted, so `64MiB` means the same thing in
`wasmesh.toml`, in runtime settings and on the CLI.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")

# Binary and decimal units; a bare `K`/`M`/`G` is binary, as in most runtimes' flags.
_UNITS: dict[str, int] = {
    "": 1, "b": 1, "byte": 1, "bytes": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
    "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
    "t": 1024**4, "tib": 1024**4, "tb": 1000**4,
}  # fmt: skip


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
            "(B, KiB, MiB, GiB, KB, MB, GB, K, M, G), like 64MiB"
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
