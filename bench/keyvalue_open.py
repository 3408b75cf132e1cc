"""What the integrity check costs when a SQLite store opens, against plain sqlite3 on one file.

Opening an existing store runs `PRAGMA quick_check` (`wasmesh.capabilities.keyvalue.sqlite`),
which reads every page once. This builds a store of ROWS rows (64-byte keys, 1 KiB values,
like a cache of small documents; 200,000 rows make about 0.9 GB), then times, on the same
file in the same run: `SqliteBackend` opening it (quick_check plus the schema check), and
the peers plain `sqlite3` opening it and counting its rows (`SELECT count(*)`: a scan of the
table) and opening it with no scan at all. Each is the best of three, after the OS has the
file cached. Prints seconds and the ratio to the count.

    python bench/keyvalue_open.py [ROWS]
"""

from __future__ import annotations

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

from wasmesh.capabilities.keyvalue.sqlite import SCHEMA, SqliteBackend  # noqa: E402

VALUE = b"v" * 1024


def build(path: Path, rows: int) -> None:
    """A store of `rows` rows at `path`."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(SCHEMA)
    conn.executemany(
        "INSERT INTO kv VALUES (?, ?, 1)", ((f"key-{i:058}", VALUE) for i in range(rows))
    )
    conn.commit()
    conn.close()


def best(run: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def open_store(path: Path) -> None:
    SqliteBackend("default", path).close()


def count_rows(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("SELECT count(*) FROM kv").fetchone()
    conn.close()


def open_only(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("SELECT 1 FROM kv LIMIT 1").fetchone()
    conn.close()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "default.db"
        build(path, rows)
        size = os.path.getsize(path) / 1e6
        print(f"store: {rows} rows, {size:.0f} MB; load average {os.getloadavg()[0]:.1f}")
        peer = best(lambda: count_rows(path))
        for name, run in (
            ("SqliteBackend open (quick_check)", lambda: open_store(path)),
            ("sqlite3 open + count(*) [peer]", lambda: count_rows(path)),
            ("sqlite3 open, no scan", lambda: open_only(path)),
        ):
            took = peer if "peer" in name else best(run)
            print(f"{name:36} {took:8.3f} s  {took / peer:6.2f}x the count")


if __name__ == "__main__":
    main()
