"""The NATS JetStream KV backend: the default for apps on a lattice, so every host sees one store.

A store lives in a JetStream KV bucket under a key prefix (`location` is `BUCKET/PREFIX`,
optionally `BUCKET/PREFIX;URL`). With no URL it uses the connection of the lattice host running
in this process (`attach`), whose bucket is then `wasmesh_<lattice>_kv` when `BUCKET` is empty;
with a URL it opens its own connection. A guest key becomes `PREFIX.k<base64url(key)>`, since
NATS keys allow only `[-/_=.a-zA-Z0-9]`.

`increment` and compare-and-swap use JetStream revisions: a write states the revision it read
(`update(last=...)`, `create` for an absent key) and retries when another writer got there
first, so no update is lost across hosts. A write returns after JetStream acknowledged it
(stored on disk); a server that cannot be reached within `OP_TIMEOUT_S` is a `StoreError`
naming the server and saying the operation was not done.

A store with its own URL connects when it is opened (at `wasmesh up`, before serving): a
server that cannot be reached then is one `StoreError` naming the URL, not a wait on every
request. A value longer than the server's `max_payload` (1 MB by default) is refused with that
limit in the sentence; SQLite and memory stores have no such limit.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import random
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.client import Client as NATS
from nats.js.errors import (
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)
from nats.js.kv import KeyValue

from wasmesh.capabilities.keyvalue.backend import PAGE, S64, StoreError, next_counter
from wasmesh.errors import WasmeshError

T = TypeVar("T")
log = logging.getLogger("wasmesh.keyvalue.nats")

OP_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0
MAX_RACES = 10_000  # revision conflicts one increment may lose before it gives up

_lattice: list[tuple[NATS, asyncio.AbstractEventLoop, str]] = []  # attached host connections
_lock = threading.Lock()


def attach(nc: NATS, loop: asyncio.AbstractEventLoop, bucket: str) -> None:
    """Let stores without a URL use `nc` (running on `loop`); `bucket` is the lattice's."""
    with _lock:
        _lattice.append((nc, loop, bucket))


def detach(nc: NATS) -> None:
    """Forget a host connection that is closing."""
    with _lock:
        _lattice[:] = [entry for entry in _lattice if entry[0] is not nc]


def encode_key(key: str) -> str:
    return "k" + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_key(token: str) -> str:
    body = token[1:]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


class _OwnConnection:
    """A connection of this backend's own, on an event loop in a daemon thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="wasmesh-kv-nats", daemon=True
        )
        self.thread.start()
        self.nc: NATS | None = None
        self.lock: asyncio.Lock | None = None  # made on the loop
        self.closing = False

    async def connect(self) -> NATS:
        if self.lock is None:
            self.lock = asyncio.Lock()
        async with self.lock:  # concurrent first calls share one connection
            return await self._connect()

    async def _connect(self) -> NATS:
        if self.nc is None or self.nc.is_closed:
            from wasmesh.lattice.connection import NatsOptions, connect_once, keep_reconnecting

            # tried once (a bad address fails now, in one sentence), then reconnects forever
            self.nc = await connect_once(NatsOptions(self.url), CONNECT_TIMEOUT_S,
                                         error_cb=_quiet, disconnected_cb=self._gone)  # fmt: skip
            keep_reconnecting(self.nc, 0.5)
        return self.nc

    def check(self, store: str) -> None:
        """Connect now; a `StoreError` naming `store` and the URL when it cannot."""
        future = asyncio.run_coroutine_threadsafe(self.connect(), self.loop)
        try:
            future.result(CONNECT_TIMEOUT_S * 3)
        except Exception as exc:
            self.close()
            # the lattice client's sentence hides the attempt's own failure in __context__
            cause = exc.__context__ if isinstance(exc, WasmeshError) and exc.__context__ else exc
            raise StoreError(
                f"key-value store `{store}` cannot connect to NATS at {self.url} "
                f"({_why(cause)}); start NATS there or fix `url` in [key-value.{store}]"
            ) from None

    async def _gone(self) -> None:
        if self.nc is not None and not self.closing:  # not a first attempt, not our close
            log.info("NATS KV connection to %s lost; reconnecting", self.url)

    def close(self) -> None:
        self.closing = True

        async def close() -> None:
            if self.nc is not None and not self.nc.is_closed:
                await self.nc.close()

        try:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(OP_TIMEOUT_S)
        except Exception as exc:  # closing a connection that is already gone
            log.debug("closing the NATS KV connection to %s: %s", self.url, exc)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(OP_TIMEOUT_S)
        if not self.thread.is_alive():
            self.loop.close()


def _why(exc: BaseException) -> str:
    """A connection failure in a few words: `connection refused`, not `[Errno 111] ...`."""
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_S:g} s"
    return (str(exc) or type(exc).__name__).rstrip(".")


async def _quiet(exc: Exception) -> None:
    # the operation that meets the outage reports it to the guest; this is the background
    log.debug("NATS KV connection: %s", exc)


class NatsBackend:
    """The store `name` at `location` (see the module docstring)."""

    def __init__(self, name: str, location: str) -> None:
        self.name = name
        where, _, url = location.partition(";")
        self.bucket, _, self.prefix = where.partition("/")
        if not self.prefix:
            raise StoreError(
                f"key-value store `{name}` has the NATS location `{location}`, which is not "
                "BUCKET/PREFIX; set `bucket` in its [key-value] table"
            )
        self.own = _OwnConnection(url) if url else None
        if self.own is not None:
            self.own.check(name)
        self._kv: dict[int, KeyValue] = {}  # id(connection) -> its bucket handle

    def _where(self) -> tuple[asyncio.AbstractEventLoop, Callable[[], Awaitable[NATS]], str]:
        if self.own is not None:
            return self.own.loop, self.own.connect, self.bucket
        with _lock:
            attached = _lattice[-1] if _lattice else None
        if attached is None:
            raise StoreError(
                f"key-value store `{self.name}` lives in the lattice's NATS KV, but no lattice "
                "host runs in this process; give it a `url` or run it on a lattice host"
            )
        nc, loop, lattice_bucket = attached

        async def connected() -> NATS:
            return nc

        return loop, connected, self.bucket or lattice_bucket

    def _run(self, what: str, op: Callable[[KeyValue], Awaitable[T]], size: int = 0) -> T:
        """`op` on the store's bucket; `size`: the bytes a write sends (checked against the
        server's maximum payload)."""
        loop, connect, bucket = self._where()

        async def go() -> T:
            nc = await connect()
            if size > nc.max_payload > 0:
                raise StoreError(
                    f"key-value store `{self.name}` ({self._label(bucket)}) could not "
                    f"{what} a value of {size} bytes: it exceeds the NATS server's maximum "
                    f"payload ({nc.max_payload} bytes); store smaller values or raise "
                    "`max_payload` in the server's configuration"
                )
            kv = self._kv.get(id(nc))
            if kv is None:
                js = nc.jetstream(timeout=OP_TIMEOUT_S)
                try:
                    kv = await js.key_value(bucket)
                except BucketNotFoundError:
                    kv = await js.create_key_value(bucket=bucket, history=1)
                self._kv[id(nc)] = kv
            return await op(kv)

        future = asyncio.run_coroutine_threadsafe(go(), loop)
        waited = OP_TIMEOUT_S * 2
        try:
            return future.result(waited)
        except StoreError:
            raise
        except Exception as exc:
            future.cancel()
            if isinstance(exc, TimeoutError):
                reason = f"no answer within {waited:g} s"
            else:
                reason = (str(exc) or type(exc).__name__).rstrip(".")
            if what in ("read", "list keys"):
                then = "retry it when NATS is back"
            else:
                then = "it was not acknowledged, so retry it when NATS is back"
            raise StoreError(
                f"key-value store `{self.name}` ({self._label(bucket)}) could not {what} "
                f"({reason}); {then}"
            ) from None

    def _label(self, bucket: str) -> str:
        """`NATS KV bucket `B`` and, for a store with its own URL, `at URL`."""
        where = f" at {self.own.url}" if self.own is not None else ""
        return f"NATS KV bucket `{bucket}`{where}"

    def _key(self, key: str) -> str:
        return f"{self.prefix}.{encode_key(key)}"

    async def _entry(self, kv: KeyValue, key: str) -> tuple[bytes | None, int]:
        try:
            entry = await kv.get(self._key(key))
        except KeyNotFoundError:  # also a deleted key
            return None, 0
        return entry.value, entry.revision or 0

    def get(self, key: str) -> bytes | None:
        async def op(kv: KeyValue) -> bytes | None:
            return (await self._entry(kv, key))[0]

        return self._run("read", op)

    def set(self, key: str, value: bytes) -> None:
        async def op(kv: KeyValue) -> None:
            await kv.put(self._key(key), bytes(value))

        self._run("write", op, len(value))

    def delete(self, key: str) -> None:
        async def op(kv: KeyValue) -> None:
            await kv.delete(self._key(key))

        self._run("write", op)

    def exists(self, key: str) -> bool:
        return self.get(key) is not None

    def keys(self, after: str | None, limit: int = PAGE) -> list[str]:
        async def op(kv: KeyValue) -> list[str]:
            watcher = await kv.watch(f"{self.prefix}.>", ignore_deletes=True, meta_only=True)
            names: list[str] = []
            try:
                async for entry in watcher:
                    if entry is None:
                        break
                    names.append(decode_key(entry.key[len(self.prefix) + 1 :]))
            finally:
                await watcher.stop()  # type: ignore[no-untyped-call]
            return names

        names = sorted(set(self._run("list keys", op)))
        if after is not None:
            names = [k for k in names if k > after]
        return names[:limit]

    def read(self, key: str) -> tuple[bytes | None, int]:
        async def op(kv: KeyValue) -> tuple[bytes | None, int]:
            return await self._entry(kv, key)

        return self._run("read", op)

    async def _swap(self, kv: KeyValue, key: str, value: bytes, revision: int) -> bool:
        try:
            if revision == 0:
                await kv.create(self._key(key), value)
            else:
                await kv.update(self._key(key), value, last=revision)
        except KeyWrongLastSequenceError:
            return False
        return True

    def swap(self, key: str, value: bytes, version: int) -> bool:
        async def op(kv: KeyValue) -> bool:
            return await self._swap(kv, key, bytes(value), version)

        return self._run("write", op, len(value))

    def increment(self, key: str, delta: int, bounds: tuple[int, int] = S64) -> int:
        async def op(kv: KeyValue) -> int:
            for attempt in range(MAX_RACES):
                current, revision = await self._entry(kv, key)
                value = next_counter(self.name, key, current, delta, bounds)
                if await self._swap(kv, key, str(value).encode(), revision):
                    return value
                await asyncio.sleep(random.random() * min(0.001 * attempt, 0.02))
            raise StoreError(
                f"key `{key}` of store `{self.name}` changed under every one of {MAX_RACES} "
                "increments tried; too many writers race for it"
            )

        return self._run("increment", op)

    def close(self) -> None:
        if self.own is not None:
            self.own.close()
