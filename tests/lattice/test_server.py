"""The local nats-server: starts with JetStream, reports its URL, stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import nats
import pytest

from tests.support.cli import wasmesh_process
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.server import NatsServer, free_port, start_server


def test_start_serves_jetstream_and_stop_reaps(tmp_path: Path) -> None:
    server = start_server(0, tmp_path / "js")
    try:
        assert server.url.startswith("nats://127.0.0.1:")

        async def roundtrip() -> bytes:
            nc = await nats.connect(server.url)
            kv = await nc.jetstream().create_key_value(bucket="probe")
            await kv.put("k", b"v")
            value = (await kv.get("k")).value
            await nc.close()
            assert value is not None
            return value

        assert asyncio.run(roundtrip()) == b"v"
        proc = server.process
    finally:
        server.stop()
    assert proc is not None and proc.poll() is not None


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    with NatsServer(port, tmp_path / "a"), pytest.raises(LatticeError, match="port"):
        NatsServer(port, tmp_path / "b").start(timeout=5)


def test_lattice_up_prints_the_url_and_stops_its_server_on_sigterm(tmp_path: Path) -> None:
    code = "from wasmesh.lattice import serve_forever; serve_forever(0, {!r})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code.format(str(tmp_path / "js"))],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        assert url.startswith("nats://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
        with socket.socket() as s:  # the port is free again: the server went with it
            s.bind(("127.0.0.1", port))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_lattice_up_stops_on_sigint_even_when_started_with_it_ignored(tmp_path: Path) -> None:
    # a script's `wasmesh lattice up &` starts with SIGINT ignored; `kill -INT` must still work
    code = "from wasmesh.lattice import serve_forever; serve_forever(0, {!r}, '0.0.0.0')"
    proc = subprocess.Popen(
        [sys.executable, "-c", code.format(str(tmp_path / "js"))],
        stdout=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        assert url.startswith("nats://127.0.0.1:")  # listening on every address

        async def ping() -> None:
            nc = await nats.connect(url)
            await nc.flush()
            await nc.close()

        asyncio.run(ping())
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_lattice_up_prints_where_the_credentials_are(tmp_path: Path) -> None:
    code = (
        "from wasmesh.lattice.credentials import ensure_secrets\n"
        "from wasmesh.lattice import serve_forever\n"
        "serve_forever(0, {js!r}, secrets=ensure_secrets({creds!r}, ['default', 'b']))"
    )
    creds = tmp_path / "creds"
    proc = subprocess.Popen(
        [sys.executable, "-c", code.format(js=str(tmp_path / "js"), creds=str(creds))],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().decode().rstrip() for _ in range(11)]
        url = lines[0]
        assert url.startswith("nats://127.0.0.1:")
        d, b = creds / "default", creds / "b"
        # each line is a command to copy: it names the server, the lattice and the files
        assert lines[1:6] == [
            f"lattice default: credentials in {d}",
            f"  hosts:   wasmesh host --nats {url} --creds {d / 'host.nk'} "
            f"--trust {d / 'signing.pub'}",
            f"  admin:   wasmesh deploy --nats {url} --creds {d / 'admin.nk'} "
            f"--sign-key {d / 'signing.key'} (and rollback, undeploy)",
            f"  clients: wasmesh invoke --nats {url} --creds {d / 'client.nk'}",
            f"  status:  wasmesh status --nats {url} --creds (any of the three)",
        ]
        other = f"  clients: wasmesh invoke --nats {url} --lattice b --creds {b / 'client.nk'}"
        assert lines[9] == other
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--listen", "10.255.255.1", "--port", "0"), "--listen 10.255.255.1 is not an address"),
        (("--listen", "999.1.1.1"), "--listen 999.1.1.1 is not an address"),
        (("--port", "70000"), "--port 70000 is not a TCP port; pass one from 1 to 65535, or 0"),
        (("--port", "-1"), "--port -1 is not a TCP port"),
    ],
)
def test_lattice_up_names_a_bad_listen_address_or_port(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    r = wasmesh_process("lattice", "up", *args, "--store-dir", str(tmp_path / "js"),
                        "--creds-dir", str(tmp_path / "creds"), timeout=60)  # fmt: skip
    assert r.code == 2, r
    assert len(r.err.strip().splitlines()) == 1 and says in r.err, r.err
    assert not (tmp_path / "creds").exists()  # refused before anything was written
