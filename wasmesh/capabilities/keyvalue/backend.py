"""The small Protocol every key-value backend follows, its errors, and the in-memory backend.

A backend is one store: keys are strings, values bytes. Counters (`increment`) are kept as
decimal ASCII text (`b"42"`), as wasmCloud's key-value providers keep them, so `get` on a
counter reads a number. Every method is called from guest threads and must be safe under
concurrent callers; a write returns only once the backend has made it durable (for the
backends that are durable at all). Failures a guest should see are `StoreError`s, whose
message becomes the `error::other` string of `wasi:keyvalue/store`.
"""

from __future__ import annotations

import threading
from typing import Protocol

from wasmesh.errors import WasmeshError

PAGE = 1000  # keys a `list-keys` call returns at most
S64 = (-(2**63), 2**63 - 1)  # a counter's range under draft2 (`s64`), the default
U64 = (0, 2**64 - 1)  # a counter's range under the 0.2.0-draft (`u64`)


class StoreError(WasmeshError):
    """A store operation that failed; one sentence naming the store and what to do."""


class Backend(Protocol):
    """One key-value store. `version` numbers are the backend's own (0: the key is absent)
    and serve compare-and-swap: `swap` writes only if the key is still at that version."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def keys(self, after: str | None, limit: int = PAGE) -> list[str]:
        """Up to `limit` keys in ascending order, those greater than `after` when given."""
        ...

    def increment(self, key: str, delta: int, bounds: tuple[int, int] = S64) -> int:
        """Add `delta` to the counter at `key` (absent: 0) atomically; the new value.

        `bounds` (inclusive) is the range the guest's integer type holds: a stored value or a
        result outside it is a `StoreError` and nothing is written."""
        ...

    def read(self, key: str) -> tuple[bytes | None, int]:
        """The value of `key` and its version."""
        ...

    def swap(self, key: str, value: bytes, version: int) -> bool:
        """Write `value` if `key` is still at `version`; whether it was written."""
        ...

    def close(self) -> None: ...


def parse_counter(store: str, key: str, value: bytes | None, bounds: tuple[int, int] = S64) -> int:
    """The counter held in `value` (None: 0); `StoreError` when it is not a decimal integer
    within `bounds` (inclusive)."""
    if value is None:
        return 0
    try:
        number = int(value.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise StoreError(
            f"key `{key}` of store `{store}` holds a value that is not a decimal integer, so "
            "it cannot be incremented; set it to a number or use another key"
        ) from None
    if not bounds[0] <= number <= bounds[1]:
        raise StoreError(
            f"key `{key}` of store `{store}` holds {number}, outside the counter range "
            f"{bounds[0]}..{bounds[1]}, so it cannot be incremented; set it to a number in range"
        )
    return number


def next_counter(
    store: str, key: str, value: bytes | None, delta: int, bounds: tuple[int, int] = S64
) -> int:
    """The counter in `value` plus `delta`; `StoreError` (write nothing) when either the stored
    value or the sum falls outside `bounds` (inclusive): the counter would overflow."""
    result = parse_counter(store, key, value, bounds) + delta
    if not bounds[0] <= result <= bounds[1]:
        raise StoreError(
            f"incrementing key `{key}` of store `{store}` by {delta} would overflow the counter "
            f"range {bounds[0]}..{bounds[1]}; nothing was written"
        )
    return result


class MemoryBackend:
    """A store in this process's memory: for tests and scratch data, gone at exit."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._data: dict[str, tuple[bytes, int]] = {}
        self._version = 0
        self._lock = threading.Lock()

    def _put(self, key: str, value: bytes) -> None:
        self._version += 1
        self._data[key] = (value, self._version)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._data.get(key)
        return found[0] if found else None

    def set(self, key: str, value: bytes) -> None:
        with self._lock:
            self._put(key, bytes(value))

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def exists(self, key: str) -> bool:
        with self._lock:
            return key in self._data

    def keys(self, after: str | None, limit: int = PAGE) -> list[str]:
        with self._lock:
            names = sorted(self._data)
        if after is not None:
            names = [k for k in names if k > after]
        return names[:limit]

    def increment(self, key: str, delta: int, bounds: tuple[int, int] = S64) -> int:
        with self._lock:
            found = self._data.get(key)
            value = next_counter(self.name, key, found[0] if found else None, delta, bounds)
            self._put(key, str(value).encode())
            return value

    def read(self, key: str) -> tuple[bytes | None, int]:
        with self._lock:
            found = self._data.get(key)
        return found if found else (None, 0)

    def swap(self, key: str, value: bytes, version: int) -> bool:
        with self._lock:
            found = self._data.get(key)
            if (found[1] if found else 0) != version:
                return False
            self._put(key, bytes(value))
            return True

    def close(self) -> None:
        """Nothing held outside this object."""
