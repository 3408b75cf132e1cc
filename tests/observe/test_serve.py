"""`wasmesh serve --admin` as a real process: the listener's address printed, readiness, and
bad values refused with one sentence."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.observe.conftest import scrape, value
from tests.observe.test_up import admin_url, wait_ready
from tests.support.cli import BIN
from tests.support.processes import Served


@pytest.fixture
def served(guest: Callable[[str], Path], tmp_path: Path) -> Iterator[Served]:
    proc = Served([str(BIN / "wasmesh"), "serve", str(guest("http-echo-py")), "--listen",
                   "127.0.0.1:0", "--admin", "127.0.0.1:0"], log=tmp_path / "err.log")  # fmt: skip
    yield proc
    proc.stop()


def test_serve_with_admin_counts_and_logs(served: Served, tmp_path: Path) -> None:
    url = admin_url(served)
    wait_ready(url)
    for i in range(3):
        assert served.request("GET", f"/n/{i}")[0] == 200
    samples = scrape(url)
    assert value(samples, "wasmesh_http_requests_total", route="/...", method="GET",
                 status="200") == 3  # fmt: skip
    # one instance per request; the readiness probe's is not the app's
    assert value(samples, "wasmesh_instances_created_total", app="http-echo-py",
                 component="http-echo-py") == 3  # fmt: skip
    assert served.stop() == 0
    log = (tmp_path / "err.log").read_text()
    assert all(f"GET /n/{i} 200 " in log for i in range(3)), log


def wasmesh_serve(guest: Callable[[str], Path], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "wasmesh"), "serve", str(guest("http-echo-py")), "--listen",
                           "127.0.0.1:0", *args], capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_an_admin_port_in_use_is_one_sentence(guest: Callable[[str], Path]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = wasmesh_serve(guest, "--admin", f"127.0.0.1:{port}")
    assert r.returncode == 2, r.stderr
    assert f"--admin 127.0.0.1:{port}: the address is in use" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--admin", "localhost"), "--admin `localhost` is not HOST:PORT"),
        (("--admin", "127.0.0.1:0", "--workers", "2"), "--admin serves the metrics of one process"),
        (("--log-level", "chatty"), "--log-level `chatty` is not one of"),
    ],
)
def test_bad_values_are_one_sentence(
    guest: Callable[[str], Path], args: tuple[str, ...], said: str
) -> None:
    r = wasmesh_serve(guest, *args)
    assert r.returncode == 2 and said in r.stderr and "Traceback" not in r.stderr, r.stderr
