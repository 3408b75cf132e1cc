"""The Python value model for component values.

| WIT | Python |
|---|---|
| bool, integers, floats | bool, int, float |
| char, string | str (a char is a one-character str) |
| list<u8> | bytes (bytearray and lists of ints accepted) |
| list<T>, tuple<...> | list, tuple |
| record | `Record` (a dict with attribute access; any mapping or object with the fields accepted) |
| variant | `Variant(tag, value)` (a bare str accepted for a case without payload) |
| enum | str |
| option<T> | None or the value; `Some(x)` where T is itself an option |
| result<T, E> | `Ok(value)` or `Err(value)` |
| flags | frozenset[str] (any iterable of names accepted) |
| own/borrow | the engine's resource handle, passed through |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Record(dict[str, Any]):
    """A WIT record: a dict whose fields are also attributes (`r.name`, `r["name"]`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            key = name.replace("_", "-")
            if key in self:
                return self[key]
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.items())
        return f"Record({inner})"


@dataclass(frozen=True)
class Variant:
    """A case of a WIT variant; `value` is None for a case without payload."""

    tag: str
    value: Any = None


@dataclass(frozen=True)
class Some:
    """`some(value)` of an option whose payload is itself an option."""

    value: Any


@dataclass(frozen=True)
class Ok:
    """`ok(value)` of a WIT result."""

    value: Any = None


@dataclass(frozen=True)
class Err:
    """`err(value)` of a WIT result."""

    value: Any = None
