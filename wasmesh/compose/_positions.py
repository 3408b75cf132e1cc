"""Line numbers of tables and keys in a TOML text, for error messages.

tomlkit keeps formatting but not line numbers, so the manifest parser asks this index
"where is key K of table T?" and points the user at that line.
"""

from __future__ import annotations

import re

Path_ = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_.\-"\' ]+?)\s*=')
_INLINE_KEY = re.compile(r'([{,]\s*)("(?:[^"\\]|\\.)*"|[A-Za-z0-9_\-]+)\s*=')


def _split_dotted(text: str) -> list[str]:
    """Split `a."b.c".d` into its parts, dropping quotes."""
    parts: list[str] = []
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s]+)', text):
        parts.append(next(g for g in match.groups() if g is not None))
    return parts


class Positions:
    """Maps table paths and key paths of a TOML text to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Path_, int] = {}
        table: Path_ = ()
        arrays: dict[tuple[str | int, ...], int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header and not line.lstrip().startswith("#") and "=" not in line.split("]")[0]:
                parts: Path_ = tuple(_split_dotted(header.group(2)))
                if header.group(1) == "[[":
                    index = arrays.get(parts, -1) + 1
                    arrays[parts] = index
                    parts = (*parts, index)
                table = parts
                self._lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key is None:
                continue
            path: Path_ = (*table, *_split_dotted(key.group(1)))
            self._lines.setdefault(path, number)
            # keys of an inline table on the same line: `env = { K = "V" }`
            rest = line[key.end() :]
            for inline in _INLINE_KEY.finditer(rest):
                self._lines.setdefault((*path, *_split_dotted(inline.group(2))), number)

    def line(self, path: Path_) -> int | None:
        """The line of the key or table at `path`, or of its nearest known ancestor."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None
