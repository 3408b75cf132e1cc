"""`wasmesh up --workers N` over real HTTP: several worker processes answer on one socket and
count into one SQLite store exactly, a cron schedule fires once, SIGTERM lets a request in
flight finish, and bad worker counts are one sentence."""

from __future__ import annotations

import http.client
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh, wasmesh_process
from tests.support.processes import Served

INCREMENTS = 200
TICK_WINDOW_S = 5.0

APP = """\
[app]
name = "workers"

[components.counter]
source = "{counter}"
key-value-stores = ["default"]

[components.ticker]
source = "{ticker}"

[[triggers.http]]
route = "/..."
component = "counter"

[[triggers.cron]]
schedule = "* * * * * *"
component = "ticker"
export = "tick"

[deploy]
strategy = "per-component"
"""


@pytest.fixture(scope="module")
def app(guest: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workers-app")
    text = APP.format(counter=guest("kv-counter-py"), ticker=guest("tick-wat"))
    (root / "wasmesh.toml").write_text(text)
    return root


@pytest.fixture
def up(app: Path, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(*args: str) -> Served:
        argv = [str(BIN / "wasmesh"), "up", str(app), "--listen", "127.0.0.1:0", *args]
        served = Served(argv, log=tmp_path / "up.log")
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def children(pid: int, count: int) -> list[int]:
    """The `count` worker processes of `pid` (the first serves before the others start)."""
    deadline = time.monotonic() + 120
    while True:
        found = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def serving_pid(conn: http.client.HTTPConnection, pids: list[int]) -> int | None:
    """Which of `pids` holds the server side of `conn` (an open loopback connection)."""
    assert conn.sock is not None
    client_port = conn.sock.getsockname()[1]
    server_port = conn.sock.getpeername()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(a.split(":")[1], 16) for a in fields[1:3])
        if (local, remote) == (server_port, client_port):
            inode = fields[9]
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        for fd in os.listdir(fds):
            try:
                if os.readlink(fds / fd) == f"socket:[{inode}]":
                    return pid
            except FileNotFoundError:
                continue
    return None


def test_workers_answer_on_one_socket_share_a_store_and_cron_fires_once(
    up: Callable[..., Served], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "2")  # the default --workers, as for gunicorn/uvicorn
    served = up()
    assert any(re.match(r"Serving HTTP on http://127\.0\.0\.1:\d+/ \(2 workers\)", ln)
               for ln in served.lines), served.lines  # fmt: skip
    workers = children(served.proc.pid, 2)
    assert len(workers) == 2

    def one(_: int) -> tuple[int, int | None]:
        conn = http.client.HTTPConnection(*served.address, timeout=120)
        try:
            conn.request("GET", "/incr/default/hits")
            resp = conn.getresponse()
            resp.read()
            return resp.status, serving_pid(conn, workers)
        finally:
            conn.close()

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(INCREMENTS)))
    assert [status for status, _ in answers] == [200] * INCREMENTS
    assert {pid for _, pid in answers} == set(workers)  # both processes answered
    status, _, body = served.request("GET", "/get/default/hits")
    assert (status, body) == (200, str(INCREMENTS).encode())

    # every worker is serving now; a schedule firing each second fires once a second
    log = tmp_path / "up.log"
    before = log.read_text().count("[cron] tick")
    started = time.monotonic()
    time.sleep(TICK_WINDOW_S)
    ticks = log.read_text().count("[cron] tick") - before
    assert 1 <= ticks <= time.monotonic() - started + 2, ticks
    assert served.stop() == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_sigterm_lets_a_request_in_flight_finish(up: Callable[..., Served]) -> None:
    served = up("--workers", "2")
    workers = children(served.proc.pid, 2)
    conn = http.client.HTTPConnection(*served.address, timeout=60)
    conn.putrequest("POST", "/incr/default/drained")
    conn.putheader("content-length", "4")
    conn.endheaders()
    assert served.request("GET", "/get/default/drained")[2] == b"none"  # the head is in
    served.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    conn.send(b"body")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"1")
    conn.close()
    assert served.proc.wait(30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


@pytest.mark.parametrize("value", ["0", "two", "1.5"])
def test_a_bad_web_concurrency_is_one_sentence(app: Path, value: str) -> None:
    # its own process: one that may fork, as a user's shell is (a pytest worker may not)
    env = {**os.environ, "WEB_CONCURRENCY": value}
    r = wasmesh_process("up", app, "--listen", "127.0.0.1:0", env=env, timeout=120)
    assert r.code == 2, r.err
    assert f"WEB_CONCURRENCY='{value}' is not a worker count" in r.err, r.err
    assert "Traceback" not in r.err


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_bad_worker_count_is_one_sentence(app: Path, value: str) -> None:
    r = wasmesh("up", app, "--workers", value, "--listen", "127.0.0.1:0")
    assert r.code == 2 and f"--workers must be at least 1, got {value}." in r.err, r.err
    assert "Traceback" not in r.err


def test_an_app_keeping_state_in_memory_stays_in_one_process(app: Path, tmp_path: Path) -> None:
    text = (app / "wasmesh.toml").read_text() + '\n[key-value.default]\nbackend = "memory"\n'
    (tmp_path / "wasmesh.toml").write_text(text)
    r = wasmesh("up", tmp_path, "--workers", "2", "--listen", "127.0.0.1:0")
    assert r.code == 2 and "Traceback" not in r.err, r.err
    assert "--workers 2 cannot serve app `workers`: key-value store `default` uses the memory" \
        in r.err  # fmt: skip


def test_in_process_messages_to_handlers_keep_the_app_in_one_process(
    app: Path, tmp_path: Path
) -> None:
    text = (app / "wasmesh.toml").read_text().replace(
        'key-value-stores = ["default"]', 'key-value-stores = ["default"]\nmessaging = ["jobs.>"]'
    ) + '\n[[triggers.messaging]]\nsubject = "jobs.*"\ncomponent = "counter"\n'
    (tmp_path / "wasmesh.toml").write_text(text)
    r = wasmesh("up", tmp_path, "--workers", "3", "--listen", "127.0.0.1:0")
    assert r.code == 2 and "Traceback" not in r.err, r.err
    assert "--workers 3 cannot serve app `workers`: its [[triggers.messaging]] handlers get " \
        "messages in-process, out of reach of other worker processes; add --nats URL" in r.err


@pytest.mark.parametrize(
    ("flag", "said"),
    [
        (("--admin", "127.0.0.1:0"), "--admin serves the metrics of one process; use it with"),
        (("--watch",), "--watch reloads the app in one process; use it with --workers 1"),
    ],
)
def test_admin_or_watch_with_several_workers_is_one_sentence(
    app: Path, flag: tuple[str, ...], said: str
) -> None:
    r = wasmesh("up", app, "--workers", "2", *flag, "--listen", "127.0.0.1:0")
    assert r.code == 2 and "Traceback" not in r.err, r.err
    assert said in r.err


def test_sigterm_while_the_other_workers_start_stops_them_all(
    up: Callable[..., Served],
) -> None:
    """SIGTERM as soon as the first worker serves (the others are still being forked): the
    parent tells every worker, including one forked as the signal came, and exits."""
    for _ in range(3):
        served = up("--workers", "2")
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(30) == 0
