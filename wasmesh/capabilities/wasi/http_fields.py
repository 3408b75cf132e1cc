"""wasi:http/types `fields`: ordered HTTP header (or trailer) fields, immutable once sent."""

from __future__ import annotations

import re

from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.engine.values import Err, Ok, Variant

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VALUE_BAD = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# Fields the host owns: hop-by-hop ones and `host` (the request's authority). Guests may not
# set them and do not see them on incoming requests; wasmtime-wasi-http's
# DEFAULT_FORBIDDEN_HEADERS, name for name.
FORBIDDEN = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
     "proxy-connection", "transfer-encoding", "upgrade", "host", "http2-settings"}
)  # fmt: skip

INVALID = Err(Variant("invalid-syntax"))
IMMUTABLE = Err(Variant("immutable"))
FORBIDDEN_ERR = Err(Variant("forbidden"))


def _check(name: str, values: list[bytes]) -> Err | None:
    if not _TOKEN.match(name.encode("latin-1", "replace")):
        return INVALID
    if name.lower() in FORBIDDEN:
        return FORBIDDEN_ERR
    for value in values:
        if _VALUE_BAD.search(value):
            return INVALID
    return None


class Fields(HostObject):
    """Header fields; names compare case-insensitively and are kept lower-case."""

    resource = "fields"

    def __init__(self, entries: list[tuple[str, bytes]] | None = None, mutable: bool = True):
        self.items: list[tuple[str, bytes]] = entries or []
        self.mutable = mutable

    @classmethod
    def from_list(cls, entries: list[tuple[str, bytes]]) -> Ok | Err:
        for name, value in entries:
            problem = _check(name, [value])
            if problem is not None:
                return problem
        return Ok(cls([(n.lower(), bytes(v)) for n, v in entries]))

    def get(self, name: str) -> list[bytes]:
        key = name.lower()
        return [v for n, v in self.items if n == key]

    def has(self, name: str) -> bool:
        key = name.lower()
        return any(n == key for n, _ in self.items)

    def set(self, name: str, values: list[bytes]) -> Ok | Err:
        if not self.mutable:
            return IMMUTABLE
        problem = _check(name, values)
        if problem is not None:
            return problem
        key = name.lower()
        self.items = [(n, v) for n, v in self.items if n != key] + [(key, v) for v in values]
        return Ok(None)

    def delete(self, name: str) -> Ok | Err:
        if not self.mutable:
            return IMMUTABLE
        key = name.lower()
        self.items = [(n, v) for n, v in self.items if n != key]
        return Ok(None)

    def get_and_delete(self, name: str) -> Ok | Err:
        values = self.get(name)
        result = self.delete(name)
        return Ok(values) if isinstance(result, Ok) else result

    def append(self, name: str, value: bytes) -> Ok | Err:
        if not self.mutable:
            return IMMUTABLE
        problem = _check(name, [value])
        if problem is not None:
            return problem
        self.items.append((name.lower(), value))
        return Ok(None)

    def entries(self) -> list[tuple[str, bytes]]:
        return list(self.items)

    def clone(self) -> Fields:
        return Fields(list(self.items))
