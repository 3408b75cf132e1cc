"""Shared fixtures: guest components built from source under tests/guests/.

`guest("calc-c")` builds ``tests/guests/calc-c`` (described by its ``guest.toml``) with
`wasmesh.build` into ``.cache/guests/calc-c.wasm`` (or ``$WASMESH_GUEST_CACHE``) and returns
the path. The build cache keys each output by the hash of its inputs, so a guest is compiled
once and later runs only hash its sources.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The suite compiles into the checkout's own cache (AOT artifacts, lattice artifacts), never the
# user's; kept across runs so they stay fast. Set before wasmesh is imported; inherited by every
# process the tests start.
os.environ["WASMESH_CACHE_DIR"] = str(Path(__file__).resolve().parent.parent / ".cache" / "wasmesh")
# `serve`/`up` fork one worker per core unless told otherwise; tests that are not about workers
# run one (a second engine per server costs seconds per test), and the worker tests say how many.
os.environ["WEB_CONCURRENCY"] = "1"
# A shell starts a background job (`./dev test &`, CI wrappers) with SIGINT ignored, and every
# process it starts inherits that: the servers the tests stop with Ctrl-C's SIGINT would never
# hear it (a server started that way leaves SIGINT alone, as nohup'd programs should). The
# tests' processes start as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from wasmesh.build import load_guest

ROOT = Path(__file__).resolve().parent.parent
SUITE_CACHE = Path(os.environ["WASMESH_CACHE_DIR"])
GUESTS = Path(__file__).resolve().parent / "guests"


def private_cache_dir(path: Path) -> Path:
    """A `WASMESH_CACHE_DIR` of a test's own (layers, artifacts) that shares the suite's
    compiled artifacts (``aot/``), so a component is compiled once per run, not once per test."""
    path.mkdir(parents=True, exist_ok=True)
    shared = SUITE_CACHE / "aot"
    shared.mkdir(parents=True, exist_ok=True)
    (path / "aot").symlink_to(shared, target_is_directory=True)
    return path


def guest_cache_dir() -> Path:
    """Where built guests live: ``$WASMESH_GUEST_CACHE`` or ``.cache/guests`` in the checkout."""
    return Path(os.environ.get("WASMESH_GUEST_CACHE", ROOT / ".cache" / "guests"))


def build_guest(name: str) -> Path:
    """Build (or reuse) the guest ``name`` and return its component path."""
    spec = load_guest(GUESTS / name)
    return spec.build(guest_cache_dir() / f"{name}.wasm", quiet=True).path


@pytest.fixture(autouse=True)
def _guest_output_stays_with_its_test() -> Iterator[None]:
    """A test that served in this process (guests' output to the log) leaves it as it found
    it: later tests read a command's output on the process's own stdout and stderr."""
    yield
    from wasmesh.capabilities.wasi import guest_log

    if guest_log.shown():
        guest_log.hide_guest_output()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked slow first, the rest in their usual order: with several workers each file
    runs on one of them, and a long file started last would keep one busy while the others
    idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def guest() -> Callable[[str], Path]:
    """``guest(name) -> Path`` of the built component for ``tests/guests/<name>``."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_guest(name)
        return built[name]

    return get


@pytest.fixture
def pong_server() -> Iterator[int]:
    """The port of a loopback TCP server answering "pong\\n" to whatever it is sent."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(20)

    def serve() -> None:
        try:
            while True:
                conn, _ = srv.accept()
                with conn:
                    conn.recv(64)
                    conn.sendall(b"pong\n")
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()
