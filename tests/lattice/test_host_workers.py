"""`wasmesh host --http ADDR --workers N` on a two-host secured lattice, over real HTTP: the
first process is the host, the others serve its units' routes from their own instances and
forward the other host's; distinct processes answer both kinds; SIGTERM under load drains
with no failed request and leaves no process behind; bad worker counts are one sentence."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.test_up_workers import children, serving_pid
from tests.support.cli import BIN, wasmesh
from tests.support.processes import Served
from wasmesh.lattice.credentials import Secrets
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer, start_server
from wasmesh.lattice.topology import Topology, UnitDeployment

from .conftest import admin, run

WAIT_S = 120.0
ROUTES = {"/near/...": "near", "/upper/...": "far"}  # near runs on host a, far on host b


@dataclass
class Lattice:
    server: NatsServer
    root: Path
    secrets: Secrets

    def host_argv(self, host_id: str, *args: str) -> list[str]:
        opts = self.server.options("host")
        argv = [str(BIN / "wasmesh"), "host", "--nats", self.server.url, "--id", host_id,
                "--trust", str(self.secrets.lattice().trust), "--admin", "off"]  # fmt: skip
        for flag, path in (("--creds", opts.creds), ("--tls-ca", opts.tls_ca),
                           ("--tls-cert", opts.tls_cert), ("--tls-key", opts.tls_key)):  # fmt: skip
            if path is not None:
                argv += [flag, str(path)]
        return [*argv, *args]


@pytest.fixture(scope="module")
def lattice(
    guest: Callable[[str], Path], secrets: Secrets, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lattice]:
    """A secured nats-server, host b (no HTTP) running `far`, and the app deployed: `near`
    (http-echo-js) may run only on hosts labelled zone=a, `far` (http-api-js) on zone=b."""
    root = tmp_path_factory.mktemp("host-workers")
    with contextlib.ExitStack() as stack:
        server = start_server(0, root / "jetstream", secrets=secrets)
        stack.callback(server.stop)
        trust = ("--trust", str(secrets.lattice().trust))
        back = LocalHosts(server.url, root / "hosts", options=server.options("host"), args=trust)
        stack.callback(back.stop_all)
        back.start("b", "zone=b")
        topology = Topology(
            (
                UnitDeployment("near", guest("http-echo-js"), labels={"zone": "a"}),
                UnitDeployment("far", guest("http-api-js"), labels={"zone": "b"}),
            ),
            routes=ROUTES,
        )

        async def deploy() -> None:
            async with admin(server) as client:
                await client.deploy("front", topology)

        run(deploy(), WAIT_S)
        yield Lattice(server, root, secrets)


@pytest.fixture
def front(lattice: Lattice, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start host a (`wasmesh host --http --label zone=a ...`) in its own process group."""
    started: list[Served] = []

    def start(*args: str) -> Served:
        argv = lattice.host_argv("a", "--label", "zone=a", "--http", "127.0.0.1:0", *args)
        served = Served(argv, log=tmp_path / "a.log")
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def get(address: tuple[str, int], path: str) -> tuple[int, bytes, int]:
    """(status, body, the port the client used) of one request on a new connection."""
    conn = http.client.HTTPConnection(*address, timeout=WAIT_S)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read(), conn.sock.getsockname()[1] if conn.sock else 0
    finally:
        conn.close()


def until_served(address: tuple[str, int]) -> None:
    """Both routes answer once host a runs `near` and its route table has caught up."""
    deadline = time.monotonic() + WAIT_S
    while True:
        near, far = get(address, "/near/x"), get(address, "/upper/x")
        if near[:2] == (200, b"hello from js GET /near/x") and far[:2] == (200, b"X"):
            return
        assert time.monotonic() < deadline, (near, far)
        time.sleep(0.2)


def request_log(path: Path) -> dict[str, dict[str, object]]:
    """The JSON request log lines of `path` by request path."""
    out: dict[str, dict[str, object]] = {}
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and "instance" in record:
                out[str(record["path"])] = record
    return out


def test_worker_processes_serve_local_units_and_forward_the_others(
    front: Callable[..., Served], tmp_path: Path
) -> None:
    served = front("--workers", "2", "--log-format", "json")
    assert any("(2 workers)" in line for line in served.lines), served.lines
    workers = children(served.proc.pid, 2)
    assert len(workers) == 2
    until_served(served.address)

    def one(i: int) -> tuple[str, int, bytes, int | None]:
        path = f"/near/{i}" if i % 2 else f"/upper/w{i}"
        conn = http.client.HTTPConnection(*served.address, timeout=WAIT_S)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return path, resp.status, resp.read(), serving_pid(conn, workers)
        finally:
            conn.close()

    # a worker learns from its host's heartbeats that `near` runs here (until then it
    # forwards `near` too, to the host's first process): wait until each one serves it
    log, k = tmp_path / "a.log", 0
    local: set[int | None] = set()
    deadline = time.monotonic() + WAIT_S
    while local != set(workers):
        k += 1
        path, status, _, pid = one(2 * k + 1001)
        assert status == 200 and time.monotonic() < deadline, (status, local)
        while path not in (logged := request_log(log)):
            assert time.monotonic() < deadline, path
            time.sleep(0.05)
        if logged[path]["instance"] == "fresh":
            local.add(pid)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(64)))
    for path, status, body, _ in answers:
        want = f"hello from js GET {path}" if path.startswith("/near") else path[7:].upper()
        assert (status, body) == (200, want.encode()), path
    near = {pid for path, *_, pid in answers if path.startswith("/near")}
    far = {pid for path, *_, pid in answers if path.startswith("/upper")}
    assert near == far == set(workers)  # both processes answered both kinds of route
    # every process ran `near` on an instance of its own and forwarded `far` to host b
    deadline = time.monotonic() + 10
    while not all(path in (logged := request_log(log)) for path, *_ in answers):
        assert time.monotonic() < deadline, logged
        time.sleep(0.1)
    for path, *_ in answers:
        record = logged[path]
        if path.startswith("/near"):
            assert (record["unit"], record["instance"]) == ("near", "fresh"), record
        else:
            assert (record["unit"], record["instance"]) == ("far", "forwarded"), record
    assert served.stop() == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_sigterm_under_load_drains_with_no_failed_request(
    front: Callable[..., Served],
) -> None:
    served = front("--workers", "2", "--drain-timeout", "10s")
    group = os.getpgid(served.proc.pid)
    workers = children(served.proc.pid, 2)
    until_served(served.address)
    signalled = threading.Event()
    failed: list[str] = []

    def load(n: int) -> int:
        done = 0
        while True:
            path = f"/near/{n}-{done}" if done % 2 else f"/upper/l{n}x{done}"
            conn = http.client.HTTPConnection(*served.address, timeout=WAIT_S)
            try:
                try:
                    conn.connect()
                except OSError:  # refused, or no answer to the SYN: the server stopped
                    if signalled.is_set():
                        return done
                    raise
                try:
                    conn.request("GET", path)
                    resp = conn.getresponse()
                    body = resp.read()
                except OSError as e:
                    failed.append(f"{path}: {e!r}")
                    continue
                if resp.status != 200:
                    failed.append(f"{path}: {resp.status} {body!r}")
                done += 1
            finally:
                conn.close()

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(load, n) for n in range(8)]
        time.sleep(3)
        signalled.set()
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(60) == 0
        counts = [f.result(WAIT_S) for f in futures]
    assert failed == [], failed
    assert sum(counts) > 16, counts
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    with pytest.raises(ProcessLookupError):  # nothing left in its process group
        os.killpg(group, 0)


def test_workers_without_http_or_below_one_are_one_sentence(lattice: Lattice) -> None:
    for args, said in (
        (("--workers", "2"), "--workers 2 runs more processes for HTTP ingress; add --http"),
        (("--http", "127.0.0.1:0", "--workers", "0"), "--workers must be at least 1, got 0."),
    ):
        argv = lattice.host_argv("bad", *args)[1:]
        r = wasmesh(*argv)
        assert r.code == 2 and "Traceback" not in r.err, r.err
        assert said in r.err, r.err


def test_a_host_with_one_worker_is_one_process(front: Callable[..., Served]) -> None:
    served = front("--workers", "1")
    assert not any("workers)" in line for line in served.lines), served.lines
    assert Path(f"/proc/{served.proc.pid}/task/{served.proc.pid}/children").read_text() == ""
    until_served(served.address)
    with socket.create_connection(served.address, timeout=5):
        pass
