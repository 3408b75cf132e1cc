"""Key-value operations per second from a guest, against plain Python doing the same.

Two guests on `wasi:keyvalue@0.2.0-draft2`: `tests/guests/kv-counter-py` (componentize-py)
and `tests/guests/kv-counter-c` (C, `wit-bindgen c` bindings). One call runs N `bucket.get` /
`bucket.set` (64 bytes) / `atomics.increment` in a loop, so the figure is the cost of each
host call plus the store (the C guest has no interpreter between calls). The peer, measured
in the same run on the same store kind, is plain Python: `sqlite3` with the same database
settings (WAL, `synchronous=FULL`, one transaction per increment) and `nats-py` against the same
nats-server (JetStream KV get, put, and revision-checked update). The memory store against a
Python dict shows the floor: the guest's own interpreter and one host call per operation.
Prints ops/s and the ratio guest/peer (1.0 = as fast as plain Python).

    python bench/keyvalue.py [N]
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WASMESH_CACHE_DIR", str(ROOT / ".cache" / "wasmesh"))

import nats  # noqa: E402

import wasmesh  # noqa: E402
from bench._lattice_setup import build_guest  # noqa: E402
from wasmesh.capabilities.keyvalue.stores import close_all  # noqa: E402
from wasmesh.engine.values import Ok  # noqa: E402
from wasmesh.lattice.server import start_server  # noqa: E402
from wasmesh.policy import Grants, StoreGrant  # noqa: E402

EXEC = "test:kv-counter/ops#exec"
OPS = ("get", "set", "increment")
VALUE = b"x" * 64


def per_second(n: int, run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return n / (time.perf_counter() - start)


def guest_rates(guest: Path, store: StoreGrant, n: int) -> dict[str, float]:
    component = wasmesh.load(guest, grants=Grants(key_value_stores=(store,)))
    name = store.name
    assert component.call(EXEC, name, "set", "k", "warm") == Ok("ok")
    component.call(EXEC, name, "loopincr", "n", "10")  # warm: open, first connection
    rates = {}
    for op, loop in zip(OPS, ("loopget", "loopset", "loopincr"), strict=True):
        key = "n" if loop == "loopincr" else "k"
        began = time.perf_counter()
        out = component.call(EXEC, name, loop, key, str(n))
        rates[op] = n / (time.perf_counter() - began)
        assert out == Ok(str(n)), out
    component.close()
    return rates


def dict_rates(n: int) -> dict[str, float]:
    data: dict[str, bytes] = {"k": VALUE}

    def get() -> None:
        for _ in range(n):
            data.get("k")

    def put() -> None:
        for _ in range(n):
            data["k"] = VALUE

    def increment() -> None:
        for _ in range(n):
            data["n"] = str(int(data.get("n", b"0")) + 1).encode()

    return {op: per_second(n, f) for op, f in zip(OPS, (get, put, increment), strict=True)}


def sqlite_rates(path: Path, n: int) -> dict[str, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
    conn.execute("INSERT OR REPLACE INTO kv VALUES ('k', ?)", (VALUE,))

    def get() -> None:
        for _ in range(n):
            conn.execute("SELECT value FROM kv WHERE key = 'k'").fetchone()

    def put() -> None:
        for _ in range(n):
            conn.execute("INSERT OR REPLACE INTO kv VALUES ('k', ?)", (VALUE,))

    def increment() -> None:
        for _ in range(n):
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT value FROM kv WHERE key = 'n'").fetchone()
            value = int(row[0]) + 1 if row else 1
            conn.execute("INSERT OR REPLACE INTO kv VALUES ('n', ?)", (str(value).encode(),))
            conn.execute("COMMIT")

    rates = {op: per_second(n, f) for op, f in zip(OPS, (get, put, increment), strict=True)}
    conn.close()
    return rates


def nats_rates(url: str, n: int) -> dict[str, float]:
    async def measure() -> dict[str, float]:
        nc = await nats.connect(url)
        kv = await nc.jetstream().create_key_value(bucket="peer", history=1)
        await kv.put("k", VALUE)
        rates: dict[str, float] = {}

        async def get() -> None:
            for _ in range(n):
                await kv.get("k")

        async def put() -> None:
            for _ in range(n):
                await kv.put("k", VALUE)

        async def increment() -> None:
            for _ in range(n):
                try:
                    entry = await kv.get("n")
                    await kv.update("n", str(int(entry.value or b"0") + 1).encode(),
                                    last=entry.revision)  # fmt: skip
                except nats.js.errors.KeyNotFoundError:
                    await kv.create("n", b"1")

        for op, f in zip(OPS, (get, put, increment), strict=True):
            start = time.perf_counter()
            await f()
            rates[op] = n / (time.perf_counter() - start)
        await nc.close()
        return rates

    return asyncio.run(measure())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    guests = {"python": build_guest("kv-counter-py"), "c": build_guest("kv-counter-c")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = start_server(0, work / "jetstream")
        peers = {"memory": ("dict", dict_rates(n)),
                 "SQLite": ("sqlite3", sqlite_rates(work / "p.db", n)),
                 "NATS KV": ("nats-py", nats_rates(server.url, n))}  # fmt: skip
        rows = []
        try:
            for language, guest in guests.items():
                stores = {"memory": StoreGrant("m", "memory", f"bench-{language}"),
                          "SQLite": StoreGrant("s", "sqlite", str(work / f"{language}.db")),
                          "NATS KV": StoreGrant("k", "nats",
                                                f"bench/{language}.k;{server.url}")}  # fmt: skip
                for store, grant in stores.items():
                    rows.append((language, store, guest_rates(guest, grant, n), *peers[store]))
        finally:
            close_all()
            server.stop()
    print(f"key-value ops/s, {n} sequential ops each, one thread; load: {os.getloadavg()[0]:.1f}")
    print(f"{'guest':7} {'store':8} {'op':10} {'guest':>10} {'peer':>10} {'peer is':8} "
          f"{'guest/peer':>10}")  # fmt: skip
    for language, store, guest_side, peer, peer_side in rows:
        for op in OPS:
            g, p = guest_side[op], peer_side[op]
            print(f"{language:7} {store:8} {op:10} {g:10.0f} {p:10.0f} {peer:8} {g / p:10.2f}")


if __name__ == "__main__":
    main()
