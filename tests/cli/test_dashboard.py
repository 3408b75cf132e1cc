"""`wasmesh dashboard`: what it refuses, in one sentence each (the page itself is tested in
tests/observe/dashboard)."""

from __future__ import annotations

import socket

from tests.support.cli import wasmesh


def test_a_bad_listen_address_is_one_sentence() -> None:
    got = wasmesh("dashboard", "--listen", "8090")
    assert got.code == 2
    assert got.err.strip() == (
        "error: --listen `8090` is not HOST:PORT; e.g. `--listen 127.0.0.1:8090` "
        "(port 0 picks a free one)."
    )


def test_an_unreachable_lattice_is_one_sentence() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    got = wasmesh("dashboard", "--nats", f"nats://127.0.0.1:{port}", "--listen", "127.0.0.1:0")
    assert got.code == 2
    assert f"cannot connect to NATS at nats://127.0.0.1:{port}" in got.err
    assert "Traceback" not in got.err and got.err.count("\n") == 1
