"""`wasi:keyvalue` — `store`, `atomics` and `batch` at `0.2.0-draft` (wasmCloud) and
`0.2.0-draft2` (Spin): the stores a component's policy grants, and nothing else.

`store.open(name)` returns a bucket only for a store in the policy's `key_value_stores`; any
other name gets `error::access-denied` (Spin's semantics; the name is not even looked up).
The store's backend is the grant's (`wasmesh.capabilities.keyvalue.stores`): SQLite, memory
or NATS JetStream KV. A backend failure reaches the guest as `error::other(sentence)`.

The two versions differ (both from the WASI key-value proposal's drafts):

| | 0.2.0-draft | 0.2.0-draft2 |
|---|---|---|
| `bucket.list-keys` cursor | `option<u64>` (an offset) | `option<string>` (the last key) |
| `atomics.increment` | `delta: u64 -> u64` | `delta: s64 -> s64` |
| compare-and-swap | — | `resource cas`, `swap(cas, value)` → `cas-error::cas-failed(cas)` |
| `batch.get-many` items | `option<tuple<string, list<u8>>>` | `tuple<string, option<list<u8>>>` |

Counters are decimal ASCII (`b"42"`); `increment` on a value that is not one, or whose stored
value or result falls outside the draft's integer type (`u64` / `s64`), is `error::other` and
writes nothing (the backend checks the range before it writes).
"""

from __future__ import annotations

from typing import Any

from wasmtime import component as wc

from wasmesh.capabilities.base import HostCapability, Setup
from wasmesh.capabilities.keyvalue.backend import PAGE, S64, U64, Backend, StoreError
from wasmesh.capabilities.keyvalue.stores import open_backend
from wasmesh.capabilities.python_host import link_python_hosts
from wasmesh.engine.values import Err, Ok, Record, Variant
from wasmesh.errors import WasmeshError
from wasmesh.observe import metrics as _metrics
from wasmesh.policy import Policy, StoreGrant

__all__ = ["VERSIONS", "KeyValue"]

PACKAGE = "wasi:keyvalue"
VERSIONS = ("0.2.0-draft", "0.2.0-draft2")
INTERFACES = ("store", "atomics", "batch")


class Bucket:
    """An open store, as the guest holds it."""

    def __init__(self, name: str, backend: Backend) -> None:
        self.name = name
        self.backend = backend


class Cas:
    """A compare-and-swap handle: the key and the version its value was read at."""

    def __init__(self, bucket: Bucket, key: str, value: bytes | None, version: int) -> None:
        self.bucket = bucket
        self.key = key
        self.value = value
        self.version = version


def _other(exc: StoreError) -> Err:
    return Err(Variant("other", str(exc)))


class Store:
    """`wasi:keyvalue/store` of one version, over the granted stores."""

    def __init__(self, grants: dict[str, StoreGrant], draft2: bool) -> None:
        self.grants = grants
        self.draft2 = draft2

    def open(self, identifier: str) -> Any:
        grant = self.grants.get(identifier)
        if grant is None:
            return Err(Variant("access-denied"))
        try:
            return Ok(Bucket(identifier, open_backend(grant)))
        except StoreError as exc:
            return _other(exc)

    def bucket_get(self, bucket: Bucket, key: str) -> Any:
        try:
            return Ok(bucket.backend.get(key))
        except StoreError as exc:
            return _other(exc)

    def bucket_set(self, bucket: Bucket, key: str, value: bytes) -> Any:
        try:
            bucket.backend.set(key, bytes(value))
            return Ok(None)
        except StoreError as exc:
            return _other(exc)

    def bucket_delete(self, bucket: Bucket, key: str) -> Any:
        try:
            bucket.backend.delete(key)
            return Ok(None)
        except StoreError as exc:
            return _other(exc)

    def bucket_exists(self, bucket: Bucket, key: str) -> Any:
        try:
            return Ok(bucket.backend.exists(key))
        except StoreError as exc:
            return _other(exc)

    def bucket_list_keys(self, bucket: Bucket, cursor: Any) -> Any:
        more: str | int | None
        try:
            if self.draft2:  # the cursor is the last key of the previous page
                keys = bucket.backend.keys(cursor, PAGE)
                more = keys[-1] if len(keys) == PAGE else None
            else:  # the cursor is how many keys came before
                start = int(cursor or 0)
                keys = bucket.backend.keys(None, start + PAGE)[start:]
                more = start + PAGE if len(keys) == PAGE else None
            return Ok(Record(keys=keys, cursor=more))
        except StoreError as exc:
            return _other(exc)


class Atomics:
    """`wasi:keyvalue/atomics`: `increment` (both), compare-and-swap (draft2)."""

    def __init__(self, draft2: bool) -> None:
        self.draft2 = draft2

    def increment(self, bucket: Bucket, key: str, delta: int) -> Any:
        try:
            # the range of the guest's integer type is checked before anything is written
            value = bucket.backend.increment(key, delta, S64 if self.draft2 else U64)
        except StoreError as exc:
            return _other(exc)
        return Ok(value)

    def cas_new(self, bucket: Bucket, key: str) -> Any:
        try:
            value, version = bucket.backend.read(key)
        except StoreError as exc:
            return _other(exc)
        return Ok(Cas(bucket, key, value, version))

    def cas_current(self, cas: Cas) -> Any:
        return Ok(cas.value)

    def swap(self, cas: Cas, value: bytes) -> Any:
        backend = cas.bucket.backend
        try:
            if backend.swap(cas.key, bytes(value), cas.version):
                return Ok(None)
            now, version = backend.read(cas.key)
        except StoreError as exc:
            return Err(Variant("store-error", Variant("other", str(exc))))
        return Err(Variant("cas-failed", Cas(cas.bucket, cas.key, now, version)))


class Batch:
    """`wasi:keyvalue/batch`: several keys per call (not atomic, as the proposal allows)."""

    def __init__(self, draft2: bool) -> None:
        self.draft2 = draft2

    def get_many(self, bucket: Bucket, keys: list[str]) -> Any:
        try:
            values = [(k, bucket.backend.get(k)) for k in keys]
        except StoreError as exc:
            return _other(exc)
        if self.draft2:
            return Ok(values)
        return Ok([(k, v) if v is not None else None for k, v in values])

    def set_many(self, bucket: Bucket, key_values: list[tuple[str, bytes]]) -> Any:
        try:
            for key, value in key_values:
                bucket.backend.set(key, bytes(value))
        except StoreError as exc:
            return _other(exc)
        return Ok(None)

    def delete_many(self, bucket: Bucket, keys: list[str]) -> Any:
        try:
            for key in keys:
                bucket.backend.delete(key)
        except StoreError as exc:
            return _other(exc)
        return Ok(None)


def _split(import_name: str) -> tuple[str, str] | None:
    """(interface, version) of a `wasi:keyvalue` import this capability serves."""
    head, _, version = import_name.partition("@")
    package, _, interface = head.partition("/")
    if package != PACKAGE or version not in VERSIONS or interface not in INTERFACES:
        return None
    return interface, version


class KeyValue(HostCapability):
    """Serves `wasi:keyvalue/{store,atomics,batch}` at both drafts for one component."""

    name = "wasi-keyvalue"

    def __init__(self, setup: Setup) -> None:
        self.loaded = setup.loaded
        self.program, self.app = setup.program, setup.app
        self.grants = {g.name: g for g in setup.policy.grants.key_value_stores}

    def provides(self, import_name: str) -> bool:
        return _split(import_name) is not None

    def configure(self, policy: Policy) -> None:
        """Open every granted store now, so a bad one stops the app before it serves."""
        for grant in self.grants.values():
            try:
                open_backend(grant)
            except StoreError as exc:
                raise WasmeshError(f"{exc}.") from None

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        hosts: dict[str, object] = {}
        for name in import_names:
            found = _split(name)
            assert found is not None
            interface, version = found
            draft2 = version == "0.2.0-draft2"
            if interface == "store":
                hosts[name] = Store(self.grants, draft2)
            elif interface == "atomics":
                hosts[name] = Atomics(draft2)
            else:
                hosts[name] = Batch(draft2)
        if (metrics := _metrics.ACTIVE) is not None:  # count each operation
            hosts = {n: metrics.metered_host(h, self.app, self.program, "keyvalue")
                     for n, h in hosts.items()}  # fmt: skip
        link_python_hosts(linker, self.loaded, hosts)
