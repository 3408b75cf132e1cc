"""The lattice's JetStream state: its KV buckets and its artifact object store."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout
from nats.js.client import JetStreamContext
from nats.js.errors import (
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
    ObjectNotFoundError,
)
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from wasmesh.engine.cache import cache_dir
from wasmesh.lattice import schema
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.schema import AppIndex, DesiredState, Placement, Subjects
from wasmesh.lattice.signing import Signer, Verifier, signature_name

# nats-py waits 5 s for a JetStream API reply; a loaded server (a deploy while hosts start) can
# take longer, so control-plane reads and writes wait longer. Creating a bucket keeps the short
# wait: a role that may not create one gets no reply at all, and the error should come soon.
CONTROL_TIMEOUT_S = 20.0
CREATE_TIMEOUT_S = 5.0

log = logging.getLogger("wasmesh.lattice.store")

HISTORY = {"apps": 16, "history": 1, "hosts": 1, "placements": 1, "status": 1, "scheduler": 1}


@dataclass
class LatticeStore:
    """Handles on every bucket of one lattice."""

    subjects: Subjects
    js: JetStreamContext
    hosts: KeyValue
    apps: KeyValue
    history: KeyValue
    placements: KeyValue
    status: KeyValue
    scheduler: KeyValue
    artifacts: ObjectStore


async def _kv(nc: NATS, js: JetStreamContext, subjects: Subjects, what: str) -> KeyValue:
    name = subjects.bucket(what)
    try:
        return await js.key_value(name)
    except BucketNotFoundError:
        async with _creating(subjects, name):
            creator = nc.jetstream(timeout=CREATE_TIMEOUT_S)
            await creator.create_key_value(bucket=name, history=HISTORY[what])
        return await js.key_value(name)


@contextlib.asynccontextmanager
async def _creating(subjects: Subjects, name: str) -> AsyncIterator[None]:
    """Creating a missing bucket: only the admin may, and the server drops anyone else's
    request unanswered, so a timeout here says who may create it."""
    try:
        yield
    except (NatsTimeout, TimeoutError):
        raise LatticeError(
            f"lattice {subjects.lattice} has no bucket {name} and this connection could not "
            "create it (no answer): only the admin credential may; create the lattice's "
            "buckets once with it (any admin command, e.g. `wasmesh status --creds "
            f"admin.nk --lattice {subjects.lattice}`)."
        ) from None


async def open_store(nc: NATS, subjects: Subjects) -> LatticeStore:
    """Open the lattice's buckets, creating the missing ones (creation is idempotent; only
    the admin role may create them)."""
    js = nc.jetstream(timeout=CONTROL_TIMEOUT_S)
    kvs = {what: await _kv(nc, js, subjects, what) for what in HISTORY}
    try:
        artifacts = await js.object_store(subjects.artifacts)
    except (BucketNotFoundError, NotFoundError):
        async with _creating(subjects, subjects.artifacts):
            creator = nc.jetstream(timeout=CREATE_TIMEOUT_S)
            await creator.create_object_store(bucket=subjects.artifacts)
        artifacts = await js.object_store(subjects.artifacts)
    return LatticeStore(subjects=subjects, js=js, artifacts=artifacts, **kvs)


async def ensure_key_value_bucket(nc: NATS, subjects: Subjects) -> None:
    """Create the bucket of the apps' key-value stores if missing (as the admin: hosts may
    read and write it but not create it; a host of an open lattice creates it on first use)."""
    js = nc.jetstream()
    try:
        await js.key_value(subjects.key_value)
    except BucketNotFoundError:
        await js.create_key_value(bucket=subjects.key_value, history=1)


async def get_value(kv: KeyValue, key: str) -> tuple[bytes | None, int]:
    """(value, revision) of `key`, or (None, 0) when it is missing or deleted."""
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return None, 0
    return entry.value, entry.revision or 0


async def delete_key(kv: KeyValue, key: str) -> None:
    """Delete `key`; a missing one is fine."""
    with contextlib.suppress(KeyNotFoundError):
        await kv.delete(key)


async def delete_if_present(kv: KeyValue, key: str) -> None:
    """Delete `key` only if it holds a value (no delete marker written for nothing)."""
    value, _ = await get_value(kv, key)
    if value is not None:
        await delete_key(kv, key)


INDEX_KEY = "apps"


async def read_index(store: LatticeStore) -> AppIndex:
    """The lattice's app index (empty when nothing was ever deployed)."""
    data, _ = await get_value(store.scheduler, INDEX_KEY)
    return schema.loads(AppIndex, data) if data else AppIndex()


async def update_index(store: LatticeStore, change: Callable[[AppIndex], AppIndex]) -> AppIndex:
    """Apply `change` to the app index with compare-and-set, retrying on conflicts."""
    for _ in range(100):
        data, revision = await get_value(store.scheduler, INDEX_KEY)
        new = change(schema.loads(AppIndex, data) if data else AppIndex())
        try:
            if revision:
                await store.scheduler.update(INDEX_KEY, schema.dumps(new), last=revision)
            else:
                await store.scheduler.create(INDEX_KEY, schema.dumps(new))
            return new
        except KeyWrongLastSequenceError:
            continue
    raise LatticeError("the app index kept changing under this update; try again.")


async def serving(store: LatticeStore, desired: DesiredState) -> DesiredState:
    """The version of the app whose units serve calls: `desired` once all its units run
    (the scheduler's `Placement.live`), until then the earlier version still running."""
    data, _ = await get_value(store.placements, f"app.{desired.app}")
    live = schema.loads(Placement, data).live if data else 0
    if live in (0, desired.version):
        return desired
    old, _ = await get_value(store.history, f"{desired.app}.{live}")
    return schema.loads(DesiredState, old) if old else desired


def digest_of(data: bytes) -> str:
    """The sha256 hex digest artifacts are named by."""
    return hashlib.sha256(data).hexdigest()


async def put_artifact(store: LatticeStore, data: bytes) -> str:
    """Publish an artifact under its sha256 digest; returns the digest.

    An object already stored under that name is read back and kept only if its bytes hash
    to the name: one that is corrupt (altered in the object store, or cut short) is
    overwritten, so deploying again repairs what hosts refused."""
    digest = digest_of(data)
    if not await _stored_intact(store, digest, len(data)):
        await store.artifacts.put(digest, data)
    return digest


async def _stored_intact(store: LatticeStore, digest: str, size: int) -> bool:
    """Whether the object store holds artifact `digest` with exactly its bytes."""
    try:
        info = await store.artifacts.get_info(digest)
    except (ObjectNotFoundError, NotFoundError):
        return False
    if info.size != size:
        return False
    try:
        result = await store.artifacts.get(digest)
    except (ObjectNotFoundError, NotFoundError):
        return False
    except Exception as exc:  # the object store's own checks (its digest) failed
        log.warning("artifact %s is corrupt in the object store (%s); republishing it",
                    digest[:12], exc)  # fmt: skip
        return False
    if digest_of(bytes(result.data or b"")) != digest:
        log.warning("artifact %s is corrupt in the object store; republishing it", digest[:12])
        return False
    return True


async def fetch_artifact(store: LatticeStore, digest: str) -> bytes:
    """The artifact with `digest`, verified; a missing or corrupt one is a `LatticeError`."""
    try:
        result = await store.artifacts.get(digest)
    except (ObjectNotFoundError, NotFoundError):
        raise LatticeError(
            f"artifact {digest[:12]} is not in the lattice's object store; deploy the app again."
        ) from None
    except Exception as exc:  # the object store's own checks (size, digest) fail here too
        raise LatticeError(f"artifact {digest[:12]} could not be fetched: {exc}.") from None
    data = bytes(result.data or b"")
    actual = digest_of(data)
    if actual != digest:
        raise LatticeError(
            f"artifact {digest[:12]} is corrupt: its bytes hash to {actual[:12]}; "
            "deploy the app again to republish it."
        )
    return data


def default_cache_dir() -> Path:
    """Where verified artifacts are kept: ``artifacts/`` in wasmesh's cache directory
    (`wasmesh.engine.cache.cache_dir`, ``$WASMESH_CACHE_DIR``)."""
    return cache_dir() / "artifacts"


async def put_signature(store: LatticeStore, digest: str, signer: Signer) -> None:
    """Store `signer`'s signature of artifact `digest` next to it."""
    await store.artifacts.put(signature_name(digest, signer.key_id), signer.sign(digest))


async def check_signature(store: LatticeStore, digest: str, trust: Verifier) -> None:
    """Raise a `LatticeError` unless `trust` signed artifact `digest`."""
    name = signature_name(digest, trust.key_id)
    try:
        result = await store.artifacts.get(name)
    except (ObjectNotFoundError, NotFoundError):
        raise LatticeError(
            f"artifact {digest[:12]} is not signed by the trusted key {trust.key_id}; "
            "deploy it with that key (--sign-key)."
        ) from None
    if not trust.verify(digest, bytes(result.data or b"")):
        raise LatticeError(
            f"artifact {digest[:12]} carries a signature that the trusted key {trust.key_id} "
            "does not verify; deploy it again with that key (--sign-key)."
        )


async def cached_artifact(
    store: LatticeStore, digest: str, cache_dir: Path, trust: Verifier | None = None
) -> Path:
    """The local file of artifact `digest`, fetched and verified once; with `trust`, its
    signature is checked first and a cached file is hashed again before it is used."""
    if trust is not None:
        await check_signature(store, digest, trust)
    path = cache_dir / f"{digest}.wasm"
    if path.exists() and trust is not None and digest_of(path.read_bytes()) != digest:
        path.unlink(missing_ok=True)  # changed on disk since it was verified: fetch again
    if not path.exists():
        data = await fetch_artifact(store, digest)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")  # several hosts may share the dir
        tmp.write_bytes(data)
        tmp.replace(path)
    return path
