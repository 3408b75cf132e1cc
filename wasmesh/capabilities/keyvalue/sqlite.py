"""The embedded SQLite backend: one database file per store, the default under `wasmesh up`.

The file is in WAL mode with `synchronous=FULL`, so a write the guest saw succeed is on disk
before the call returns and survives a crash or a restart. Each thread has its own connection
(sqlite3 connections are not shared across threads) and waits up to `BUSY_TIMEOUT_MS` for a
lock, so several instances, threads and processes may use one store at once. `increment` and
`swap` run in `BEGIN IMMEDIATE` transactions, which take the write lock before they read.

Opening an existing file runs `PRAGMA quick_check` (SQLite's check of every page's structure,
without the index-content cross-check of `integrity_check`), so a damaged file stops the app
with one sentence instead of answering wrongly; it reads the whole file once, about as long as
a full table scan (`bench/keyvalue_open.py`). Damage done after opening surfaces as SQLite
notices it (`PRAGMA cell_size_check` makes it check each page it loads): every
`sqlite3.Error`, and a NULL key or value, is a `StoreError` naming the store and its file, and
from then on every operation on the store is, since SQLite may read past a damaged page it
already reported. A lookup whose path misses the damaged pages still answers.

A value column written by another tool as TEXT reads as its UTF-8 bytes and one written as
INTEGER as its decimal text (`42` → `b"42"`, so it also increments as a counter); any other
type (REAL) is a `StoreError` naming the key.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from wasmesh.capabilities.keyvalue.backend import PAGE, S64, StoreError, next_counter

BUSY_TIMEOUT_MS = 30_000

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv ("
    "key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID"
)


class SqliteBackend:
    """The store `name` in the SQLite database at `path` (created with its directory)."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.damaged = False  # once seen, every later operation fails too
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"the directory of key-value store `{name}` ({path.parent}) cannot be created "
                f"({exc.strerror}); set `path` in [key-value.{name}] to a writable place"
            ) from None
        self._check_schema()
        conn = self._conn()
        with self._guard("open"):
            conn.execute(SCHEMA)
            conn.execute("SELECT count(*) FROM kv").fetchone()

    def _check_schema(self) -> None:
        """Refuse a damaged file, or one whose `kv` table is not this backend's, before
        anything writes to it."""
        if not self.path.exists():
            return
        with self._guard("open"):
            probe = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                checked = probe.execute("PRAGMA quick_check").fetchall()
                rows = probe.execute("PRAGMA table_info(kv)").fetchall()
            finally:
                probe.close()
        if checked != [("ok",)]:
            raise self._corrupt()
        columns = {(str(r[1]), int(r[5]) > 0) for r in rows}  # (name, part of the primary key)
        if rows and columns != {("key", True), ("value", False), ("version", False)}:
            raise StoreError(
                f"the database of key-value store `{self.name}` ({self.path}) has a `kv` table "
                "that is not a wasmesh store's (key, value, version), so it was left untouched; "
                f"set `path` in [key-value.{self.name}] to another file"
            )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._guard("open"):
                conn = made = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                    check_same_thread=False,
                )  # fmt: skip
                made.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                made.execute("PRAGMA journal_mode = WAL")
                made.execute("PRAGMA synchronous = FULL")
                made.execute("PRAGMA cell_size_check = ON")  # a damaged page is an error
            self._local.conn = made
            with self._lock:
                self._all.append(made)
            return made
        return conn

    def _guard(self, what: str) -> _Guard:
        return _Guard(self, what)

    def _corrupt(self) -> StoreError:
        self.damaged = True
        return StoreError(
            f"the database of key-value store `{self.name}` ({self.path}) is corrupt or not a "
            "SQLite file; move it aside (a new one is then created) or restore it from a "
            "backup"
        )

    def _value(self, key: str, raw: object) -> bytes:
        """The bytes of a stored value: BLOB as is, TEXT as UTF-8, INTEGER as decimal text."""
        if isinstance(raw, bytes):
            return raw
        if isinstance(raw, str):
            return raw.encode()
        if isinstance(raw, int):
            return str(raw).encode()
        if raw is None:  # the column is NOT NULL: only a damaged file yields one
            raise self._corrupt()
        raise StoreError(
            f"key `{key}` of key-value store `{self.name}` ({self.path}) holds a "
            f"{type(raw).__name__} value written by another program, which is neither bytes, "
            "text nor an integer; set it again through wasmesh or delete it"
        )

    def get(self, key: str) -> bytes | None:
        with self._guard("read"):
            row = self._conn().execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return self._value(key, row[0]) if row else None

    def set(self, key: str, value: bytes) -> None:
        with self._guard("write"):
            self._conn().execute(
                "INSERT INTO kv (key, value, version) VALUES (?, ?, 1) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value, version = version + 1",
                (key, bytes(value)),
            )

    def delete(self, key: str) -> None:
        with self._guard("write"):
            self._conn().execute("DELETE FROM kv WHERE key = ?", (key,))

    def exists(self, key: str) -> bool:
        with self._guard("read"):
            row = self._conn().execute("SELECT 1 FROM kv WHERE key = ?", (key,)).fetchone()
        return row is not None

    def keys(self, after: str | None, limit: int = PAGE) -> list[str]:
        args: tuple[object, ...]
        if after is None:
            sql, args = "SELECT key FROM kv ORDER BY key LIMIT ?", (limit,)
        else:
            sql, args = "SELECT key FROM kv WHERE key > ? ORDER BY key LIMIT ?", (after, limit)
        with self._guard("read"):
            rows = self._conn().execute(sql, args).fetchall()
        if any(not isinstance(r[0], str) for r in rows):  # NULL: only a damaged file
            raise self._corrupt()
        return [r[0] for r in rows]

    def read(self, key: str) -> tuple[bytes | None, int]:
        with self._guard("read"):
            row = (
                self._conn()
                .execute("SELECT value, version FROM kv WHERE key = ?", (key,))
                .fetchone()
            )
        if row is None:
            return None, 0
        if not isinstance(row[1], int):
            raise self._corrupt()
        return self._value(key, row[0]), row[1]

    def increment(self, key: str, delta: int, bounds: tuple[int, int] = S64) -> int:
        conn = self._conn()
        with self._guard("write"):
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
                now = self._value(key, row[0]) if row else None
                value = next_counter(self.name, key, now, delta, bounds)
                conn.execute(
                    "INSERT INTO kv (key, value, version) VALUES (?, ?, 1) ON CONFLICT (key) "
                    "DO UPDATE SET value = excluded.value, version = version + 1",
                    (key, str(value).encode()),
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return value

    def swap(self, key: str, value: bytes, version: int) -> bool:
        conn = self._conn()
        with self._guard("write"):
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT version FROM kv WHERE key = ?", (key,)).fetchone()
                if row is not None and not isinstance(row[0], int):
                    raise self._corrupt()
                if (row[0] if row else 0) != version:
                    conn.execute("ROLLBACK")
                    return False
                conn.execute(
                    "INSERT INTO kv (key, value, version) VALUES (?, ?, 1) ON CONFLICT (key) "
                    "DO UPDATE SET value = excluded.value, version = version + 1",
                    (key, bytes(value)),
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return True

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


class _Guard:
    """sqlite3 errors as one `StoreError` sentence naming the store and its file."""

    def __init__(self, backend: SqliteBackend, what: str) -> None:
        self.backend = backend
        self.what = what

    def __enter__(self) -> None:
        if self.backend.damaged:  # SQLite reports a damaged page once, then may read past it
            raise self.backend._corrupt()

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if not isinstance(exc, sqlite3.Error):
            return
        b = self.backend
        text = str(exc)
        if isinstance(exc, sqlite3.DatabaseError) and (
            "not a database" in text or "malformed" in text
        ):
            raise b._corrupt() from None
        raise StoreError(
            f"key-value store `{b.name}` ({b.path}) could not {self.what}: {text}; "
            "the operation was not done"
        ) from None
