"""`wasmesh run` on calls that pass several borrowed handles at once, on both WASI layers.

`--allow-network` puts a command on the Python WASI layer; without it, wasmtime's native WASI
serves it. `poll` over two pollables, `blocking-splice` and TCP `start-connect`/`start-bind`
each take two or more borrows (see tests/engine/calls/test_borrows.py).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh_process

Guest = Callable[[str], Path]

LAYERS = {"native": (), "python": ("--allow-network",)}


@pytest.fixture(params=sorted(LAYERS))
def layer(request: pytest.FixtureRequest) -> tuple[str, ...]:
    return LAYERS[str(request.param)]


def test_poll_over_two_pollables(guest: Guest, layer: tuple[str, ...]) -> None:
    r = wasmesh_process("run", guest("cmd-c"), *layer, "--", "poll2")
    assert (r.code, r.out) == (0, "1\n"), r.err  # the 10 ms clock fired, the 60 s one did not


def test_splice_echo_of_5_mb(guest: Guest, layer: tuple[str, ...]) -> None:
    data = "".join(f"{i:09d}\n" for i in range(500_000))  # 5,000,000 bytes
    r = wasmesh_process("run", guest("cmd-c"), *layer, "--stdin", "--", "splice", input=data)
    assert r.code == 0, r.err
    assert len(r.out) == len(data) and r.out == data
    assert "spliced 5000000 bytes" in r.err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ask(port: int, deadline: float) -> bytes:
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                conn.sendall(b"ping\n")
                return conn.recv(64)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_tcp_server_granted(guest: Guest) -> None:
    port = _free_port()
    argv = [str(BIN / "wasmesh"), "run", str(guest("cmd-c")), "--allow-network", "--",
            "listen", str(port)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _ask(port, time.monotonic() + 60) == b"pong\n"
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out) == (0, "served\n"), err


def test_tcp_server_denied_without_the_grant(guest: Guest) -> None:
    r = wasmesh_process("run", guest("cmd-c"), "--", "listen", str(_free_port()))
    assert r.code == 1 and "access-denied" in r.err


def test_name_lookup_granted_and_denied(guest: Guest) -> None:
    r = wasmesh_process("run", guest("cmd-c"), "--allow-network", "--", "resolve", "localhost")
    assert (r.code, r.out) == (0, "127.0.0.1\n"), r.err
    r = wasmesh_process("run", guest("cmd-c"), "--", "resolve", "localhost")
    assert r.code == 1 and "resolve localhost failed" in r.err
