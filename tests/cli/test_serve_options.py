"""`wasmesh serve` takes the grant flags `run` takes; `wasmesh up` takes the instance options
`serve` takes."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh
from tests.support.processes import Served
from wasmesh.runtime.app import App
from wasmesh.triggers.base import TriggerOptions
from wasmesh.triggers.http import PoolSettings
from wasmesh.triggers.http.trigger import HttpTrigger


@pytest.fixture
def serving() -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(*args: str | Path) -> Served:
        served = Served([str(BIN / "wasmesh"), *map(str, args)])
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def probe(served: Served) -> dict[str, str]:
    status, _, body = served.request("GET", "/wasi")
    assert status == 200
    return dict(item.split("=") for item in body.decode().split())


@pytest.mark.slow
def test_serve_grants_directories_and_sockets_as_run_does(
    serving: Callable[..., Served], guest: Callable[[str], Path], tmp_path: Path
) -> None:
    echo = guest("http-echo-py")
    bare = probe(serving("serve", echo, "--listen", "127.0.0.1:0", "--workers", "1"))
    assert (bare["preopens"], bare["socket"]) == ("0", "access_denied")
    granted = serving("serve", echo, "--listen", "127.0.0.1:0", "--workers", "1",
                      "--dir", f"{tmp_path}:/data:ro", "--allow-network",
                      "--env-inherit", "HOME")  # fmt: skip
    assert (probe(granted)["preopens"], probe(granted)["socket"]) == ("1", "created")


def test_serve_refuses_a_bad_directory_grant(guest: Callable[[str], Path]) -> None:
    r = wasmesh("serve", guest("http-echo-py"), "--dir", "")
    assert r.code == 2 and "Traceback" not in r.err


@pytest.fixture(scope="module")
def http_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    root = tmp_path_factory.mktemp("up-options")
    # named as tests/cli/test_templates.py's, so both share one build
    made = wasmesh("new", "http-c", "--lang", "c", "--template", "http", "--app", root)
    assert made.code == 0, made.err
    app = App.load(root)
    yield app
    app.close()


def test_up_instance_options_reach_each_units_pool(http_app: App) -> None:
    options = TriggerOptions("127.0.0.1:0", max_reuse=50, max_concurrent=1, idle_timeout=9.0)
    trigger = HttpTrigger(http_app, http_app.manifest.http_triggers, options)
    trigger.start()
    try:
        assert [p.settings for p in trigger.server.pools] == [PoolSettings(50, 1, 9.0)]
        host, port = trigger.server.address
        for i in range(5):
            conn = http.client.HTTPConnection(host, port, timeout=60)
            conn.request("GET", f"/http-c/{i}")
            response = conn.getresponse()
            answer = f"hello from http-c: /http-c/{i}\n".encode()
            assert (response.status, response.read()) == (200, answer)
            conn.close()
        time.sleep(0.2)  # the last lease returns to the pool just after its response is sent
        pool = trigger.server.pools[0]
        assert len(pool.idle) == 1 and pool.idle[0].uses == 5, "one warm instance served all"
    finally:
        trigger.stop()


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [("--max-reuse", "0", "--max-reuse must be at least 1"),
     ("--max-concurrent", "0", "--max-concurrent must be at least 1"),
     ("--idle-timeout", "-1", "--idle-timeout `-1` is out of range")],
)  # fmt: skip
def test_up_refuses_bad_instance_options(tmp_path: Path, flag: str, value: str, said: str) -> None:
    r = wasmesh("up", tmp_path, "--listen", "127.0.0.1:0", flag, value)
    assert r.code == 2 and said in r.err
