"""`wasmesh dashboard`: what it refuses, in one sentence each (the page itself is tested in
tests/observe/dashboard)."""

from __future__ import annotations

import socket

from tests.lattice.conftest import nats_server, secrets
from tests.support.cli import wasmesh
from wasmesh.lattice.server import NatsServer

__all__ = ["nats_server", "secrets"]  # fixtures used here


def test_help_shows_examples() -> None:
    got = wasmesh("dashboard", "--help")
    assert got.code == 0
    assert "wasmesh dashboard --nats nats://127.0.0.1:4222 --creds" in got.out
    assert "wasmesh dashboard --lattice staging --listen 0.0.0.0:8090" in got.out


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


def test_a_lattice_it_cannot_read_is_named_and_a_busy_address_is_the_listens(
    nats_server: NatsServer,
) -> None:
    def reach_of(lattice: str) -> list[str]:
        options = nats_server.options("client", lattice)
        reach = ["--nats", options.url]
        for flag, path in (("--creds", options.creds), ("--tls-ca", options.tls_ca),
                           ("--tls-cert", options.tls_cert), ("--tls-key", options.tls_key)):
            if path is not None:
                reach += [flag, str(path)]  # fmt: skip
        return reach

    # a credential of lattice `default` used for another lattice is named before any wait
    reach = reach_of("default")
    got = wasmesh("dashboard", *reach, "--lattice", "nosuch", "--listen", "127.0.0.1:0")
    assert got.code == 2
    assert "is not a credential of lattice nosuch" in got.err
    assert "it belongs to lattice default" in got.err
    assert "Traceback" not in got.err and got.err.count("\n") == 1
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        got = wasmesh("dashboard", *reach, "--listen", f"127.0.0.1:{port}")
    assert got.code == 2
    assert got.err.startswith(f"error: --listen 127.0.0.1:{port}: cannot listen there (")
    assert "Traceback" not in got.err and got.err.count("\n") == 1
