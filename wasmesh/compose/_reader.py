"""Checked reading of a parsed TOML document: keys, types and positions for messages."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from wasmesh.compose._positions import Path_, Positions
from wasmesh.errors import ManifestError

_NAME_MAX = 255
_PATH_MAX = 4096


class Reader:
    """Walks the parsed document, checking keys and types, with positions for messages."""

    def __init__(self, path: Path, positions: Positions) -> None:
        self.path = path
        self.positions = positions

    def fail(self, where: Path_, message: str) -> ManifestError:
        line = self.positions.line(where)
        prefix = f"{self.path.name}:{line}" if line else self.path.name
        return ManifestError(f"{prefix}: {message}")

    def table(self, value: Any, where: Path_, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"{_dotted(where)} must be a table")
        for key in value:
            if key not in allowed:
                raise self.fail((*where, key), _unknown(key, _section(where), allowed))
        return value

    def typed(self, value: Any, where: Path_, kind: type | tuple[type, ...], what: str) -> Any:
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise self.fail(where, f"`{where[-1]}` in {_section(where[:-1])} must be {what}")
        if not isinstance(value, kind):
            got = type(value).__name__
            raise self.fail(
                where, f"`{where[-1]}` in {_section(where[:-1])} must be {what}, not {got}"
            )
        if isinstance(value, str) and "\0" in value:
            section = _section(where[:-1])
            raise self.fail(where, f"`{where[-1]}` in {section} has a NUL character; remove it")
        return value

    def path_string(self, value: Any, where: Path_) -> str:
        """A relative or absolute path string that the file system can take (POSIX limits:
        255 bytes a name, 4096 bytes in all)."""
        text: str = self.typed(value, where, str, "a path")
        parts = text.split("/")
        if len(text.encode()) > _PATH_MAX or any(len(p.encode()) > _NAME_MAX for p in parts):
            raise self.fail(
                where,
                f"`{where[-1]}` in {_section(where[:-1])} is too long for a path "
                f"({len(text)} characters); shorten it",
            )
        return text

    def strings(self, value: Any, where: Path_) -> tuple[str, ...]:
        self.typed(value, where, list, "a list of strings")
        for item in value:
            self.typed(item, where, str, "a list of strings")
        return tuple(value)


def _dotted(where: Path_) -> str:
    return ".".join(str(p) for p in where if isinstance(p, str))


def _section(where: Path_) -> str:
    return f"[{_dotted(where)}]" if where else "the top level"


def _unknown(key: str, section: str, allowed: tuple[str, ...]) -> str:
    guess = difflib.get_close_matches(key.replace("_", "-"), allowed, n=1, cutoff=0.6)
    hint = f"; did you mean `{guess[0]}`?" if guess else f"; known keys: {', '.join(allowed)}"
    return f"unknown key `{key}` in {section}{hint}"
