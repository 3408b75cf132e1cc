"""The backends under the guest: SQLite under threads and processes, NATS KV through an outage.

Each is driven directly through the `Backend` Protocol, as the capability drives it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wasmesh.capabilities.keyvalue import Atomics, Bucket
from wasmesh.capabilities.keyvalue.backend import S64, U64, Backend, MemoryBackend, StoreError
from wasmesh.capabilities.keyvalue.nats import NatsBackend, decode_key, encode_key
from wasmesh.capabilities.keyvalue.sqlite import SqliteBackend
from wasmesh.engine.values import Err, Ok, Variant
from wasmesh.lattice.server import NatsServer, start_server


def hammer(backend: Backend, threads: int = 8, each: int = 50) -> None:
    def work() -> None:
        for _ in range(each):
            backend.increment("n", 1)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


INCREMENTS = """
import sys
from pathlib import Path
from wasmesh.capabilities.keyvalue.sqlite import SqliteBackend
backend = SqliteBackend("default", Path(sys.argv[1]))
for _ in range(100):
    backend.increment("n", 1)
"""


def test_a_sqlite_file_with_a_foreign_kv_table_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "theirs.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)")
    conn.execute("INSERT INTO kv VALUES ('a', 'b')")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StoreError) as e:
        SqliteBackend("s", db)
    said = str(e.value)
    assert said.startswith(f"the database of key-value store `s` ({db}) has a `kv` table")
    assert said.endswith("set `path` in [key-value.s] to another file") and ". " not in said
    assert db.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [db.name]


def test_sqlite_increments_are_exact_across_threads_and_processes(tmp_path: Path) -> None:
    db = tmp_path / "state" / "default.db"
    backend = SqliteBackend("default", db)
    others = [subprocess.Popen([sys.executable, "-c", INCREMENTS, str(db)]) for _ in range(2)]
    hammer(backend)
    for p in others:
        assert p.wait(60) == 0
    assert backend.get("n") == str(8 * 50 + 2 * 100).encode()
    assert backend.read("n")[1] == 8 * 50 + 2 * 100  # one version per write
    backend.close()
    assert SqliteBackend("default", db).get("n") == b"600"  # reopened: durable


def test_memory_and_sqlite_agree_on_versions(tmp_path: Path) -> None:
    for backend in (MemoryBackend("m"), SqliteBackend("s", tmp_path / "s.db")):
        assert backend.read("k") == (None, 0)
        assert backend.swap("k", b"a", 0)
        assert not backend.swap("k", b"b", 0)
        value, version = backend.read("k")
        assert value == b"a" and backend.swap("k", b"c", version)
        backend.delete("k")
        assert backend.read("k") == (None, 0) and backend.keys(None) == []
        backend.close()


def damage(db: Path) -> None:
    """Overwrite 800 bytes inside the first table page, past the file's valid header."""
    with db.open("r+b") as f:
        f.seek(4104)
        f.write(bytes(range(200)) * 4)


def test_a_damaged_file_with_a_valid_header_is_refused_on_open(tmp_path: Path) -> None:
    db = tmp_path / "default.db"
    backend = SqliteBackend("default", db)
    for i in range(40):
        backend.set(f"a{i}", b"acknowledged")
    backend.close()
    damage(db)
    assert db.read_bytes().startswith(b"SQLite format 3\0")
    with pytest.raises(StoreError) as e:
        SqliteBackend("default", db)
    assert str(e.value) == (
        f"the database of key-value store `default` ({db}) is corrupt or not a SQLite file; "
        "move it aside (a new one is then created) or restore it from a backup"
    )


def test_damage_after_opening_is_an_error_never_an_absent_key(tmp_path: Path) -> None:
    db = tmp_path / "default.db"
    backend = SqliteBackend("default", db)
    for i in range(40):
        backend.set(f"a{i}", b"acknowledged")
    backend.close()  # a checkpoint: the rows are in the main file
    opened = SqliteBackend("default", db)
    damage(db)
    errors: list[str] = []

    def calls() -> None:  # a new thread: a new connection, which reads the damaged pages
        for call in (lambda: opened.keys(None), lambda: opened.read("a1"),
                     lambda: opened.get("a30")):  # fmt: skip
            try:
                call()
            except StoreError as exc:
                errors.append(str(exc))

    reader = threading.Thread(target=calls)
    reader.start()
    reader.join()
    assert len(errors) == 3 and all(f"`default` ({db}) is corrupt" in e for e in errors), errors
    opened.close()


def test_values_another_program_wrote_read_as_bytes(tmp_path: Path) -> None:
    db = tmp_path / "default.db"
    SqliteBackend("default", db).close()
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO kv VALUES (?, ?, 1)", [("t", "héllo"), ("i", 42), ("r", 1.5)]
    )
    conn.commit()
    conn.close()
    backend = SqliteBackend("default", db)
    assert backend.get("t") == "héllo".encode() and backend.read("t") == (b"h\xc3\xa9llo", 1)
    assert backend.get("i") == b"42" and backend.increment("i", 1) == 43
    assert backend.get("i") == b"43"
    with pytest.raises(StoreError) as e:
        backend.get("r")
    assert str(e.value).startswith(f"key `r` of key-value store `default` ({db}) holds a float")
    backend.close()


def test_an_unwritable_state_directory_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match=r"cannot be created .*; set `path` in \[key-value.s\]"):
        SqliteBackend("s", tmp_path / "file" / "sub" / "s.db")


@pytest.mark.parametrize("key", ["", "a.b", "ünï/cødé *>", "x" * 300])
def test_any_key_round_trips_through_a_nats_key(key: str) -> None:
    token = encode_key(key)
    assert all(c.isalnum() or c in "-_" for c in token) and decode_key(token) == key


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = start_server(0, tmp_path_factory.mktemp("js"))
    try:
        yield server
    finally:
        server.stop()


def overflows_write_nothing(backend: Backend) -> None:
    top, bottom = str(S64[1]).encode(), str(S64[0]).encode()
    backend.set("top", top)
    backend.set("bottom", bottom)
    version = backend.read("top")[1]
    with pytest.raises(StoreError, match=r"^incrementing key `top` .* by 1 would overflow"):
        backend.increment("top", 1)
    with pytest.raises(StoreError, match="would overflow"):
        backend.increment("bottom", -1)
    assert backend.read("top") == (top, version) and backend.get("bottom") == bottom
    assert backend.increment("top", -1) == S64[1] - 1  # still a counter
    with pytest.raises(StoreError, match="would overflow"):
        backend.increment("u", -1, U64)
    assert not backend.exists("u")
    assert backend.increment("u", U64[1], U64) == U64[1]
    with pytest.raises(StoreError, match="would overflow"):
        backend.increment("u", 1, U64)
    backend.set("huge", str(2**70).encode())
    with pytest.raises(StoreError, match=r"holds \d+, outside the counter range"):
        backend.increment("huge", -1)
    assert backend.get("huge") == str(2**70).encode()


def test_an_overflowing_increment_writes_nothing(tmp_path: Path) -> None:
    for backend in (MemoryBackend("m"), SqliteBackend("s", tmp_path / "s.db")):
        overflows_write_nothing(backend)
        backend.close()


def test_the_drafts_counter_types_bound_an_increment() -> None:
    for draft2, limit in ((True, S64[1]), (False, U64[1])):
        bucket = Bucket("m", MemoryBackend("m"))
        assert Atomics(draft2).increment(bucket, "n", limit) == Ok(limit)
        out = Atomics(draft2).increment(bucket, "n", 1)
        assert isinstance(out, Err) and isinstance(out.value, Variant)
        assert out.value.tag == "other" and "would overflow" in str(out.value.value)
        assert bucket.backend.get("n") == str(limit).encode()


def test_a_nats_increment_that_overflows_writes_nothing(nats_server: NatsServer) -> None:
    backend = NatsBackend("default", f"bounds/app.default;{nats_server.url}")
    try:
        overflows_write_nothing(backend)
    finally:
        backend.close()


def test_nats_increments_race_to_an_exact_count(nats_server: NatsServer) -> None:
    backend = NatsBackend("default", f"counts/app.default;{nats_server.url}")
    other = NatsBackend("default", f"counts/app.default;{nats_server.url}")  # a second host
    try:
        hammer(backend, threads=4, each=25)
        hammer(other, threads=4, each=25)
        assert backend.get("n") == b"200"
        backend.set("a.b *", b"1")
        assert backend.keys(None) == ["a.b *", "n"] and backend.keys("a.b *") == ["n"]
        apart = NatsBackend("x", f"counts/app.other;{nats_server.url}")
        assert apart.keys(None) == []
        apart.close()
        assert other.swap("new", b"1", 0) and not backend.swap("new", b"2", 0)
    finally:
        backend.close()
        other.close()


def test_a_nats_outage_is_an_error_and_loses_no_acknowledged_write(
    nats_server: NatsServer,
) -> None:
    backend = NatsBackend("orders", f"outage/app.orders;{nats_server.url}")
    try:
        backend.set("kept", b"acknowledged")
        assert backend.increment("n", 1) == 1
        nats_server.stop()
        with pytest.raises(StoreError) as e:
            backend.set("lost", b"never acknowledged")
        said = str(e.value)
        assert said.startswith(
            f"key-value store `orders` (NATS KV bucket `outage` at {nats_server.url}) could not "
            "write ("
        )
        assert said.endswith("it was not acknowledged, so retry it when NATS is back")
        with pytest.raises(StoreError) as e:
            backend.get("kept")
        said = str(e.value)
        assert " could not read (" in said and said.endswith("; retry it when NATS is back")
        assert "acknowledged" not in said and "TimeoutError" not in said
        nats_server.start()  # same port, same JetStream store
        assert backend.get("kept") == b"acknowledged"
        assert backend.increment("n", 1) == 2
    finally:
        backend.close()


def test_a_nats_store_whose_server_is_down_fails_on_open_naming_the_url() -> None:
    with pytest.raises(StoreError) as e:
        NatsBackend("default", "kv/app.default;nats://127.0.0.1:1")
    said = str(e.value)
    assert said == (
        "key-value store `default` cannot connect to NATS at nats://127.0.0.1:1 (connection "
        "refused); start NATS there or fix `url` in [key-value.default]"
    )


def test_a_value_over_the_nats_max_payload_names_the_limit(nats_server: NatsServer) -> None:
    backend = NatsBackend("big", f"payload/app.big;{nats_server.url}")
    try:
        with pytest.raises(StoreError) as e:
            backend.set("k", b"x" * 1_100_000)
        assert str(e.value) == (
            f"key-value store `big` (NATS KV bucket `payload` at {nats_server.url}) could not "
            "write a value of 1100000 bytes: it exceeds the NATS server's maximum payload "
            "(1048576 bytes); store smaller values or raise `max_payload` in the server's "
            "configuration"
        )
        assert backend.get("k") is None
        backend.set("k", b"x" * 1000)
        assert backend.get("k") == b"x" * 1000
    finally:
        backend.close()
