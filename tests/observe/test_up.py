"""`wasmesh up --admin`: the polyglot example app as a real process, scraped over HTTP.

Per component, each quote crosses units through the host (front → tax twice, front →
presentation twice; an unknown region stops after the first tax call); fused into one unit
(monolith) the same calls never reach the host, so none is counted.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.observe.conftest import scrape, total, value
from tests.support.cli import BIN
from tests.support.processes import Served

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "polyglot"
ORDER = json.dumps([{"sku": "tea", "quantity": 3, "unit-cents": 450}]).encode()
TAX = "shop:pricing/tax@0.1.0"
PRESENTATION = "shop:pricing/presentation@0.1.0"


def admin_url(served: Served) -> str:
    found = [m for line in served.lines if (m := re.search(r"Admin on (http://\S+?)/ ", line))]
    assert found, served.lines
    return found[0][1]


def wait_ready(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=30) as response:
                assert response.read() == b"ready\n"
                return
        except urllib.error.HTTPError as e:
            assert e.code == 503
            if time.monotonic() > deadline:
                raise AssertionError(e.read().decode()) from None
        time.sleep(0.1)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        served.stop()


def start(up: list[Served], tmp_path: Path, topology: str) -> tuple[Served, Path]:
    log = tmp_path / f"{topology}.log"
    served = Served([str(BIN / "wasmesh"), "up", str(EXAMPLE), "--topology", topology,
                     "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                     "--log-format", "json"], log=log)  # fmt: skip
    up.append(served)
    return served, log


@pytest.mark.slow
def test_cross_unit_calls_per_edge_exactly(up: list[Served], tmp_path: Path) -> None:
    served, log = start(up, tmp_path, "per-component")
    url = admin_url(served)
    wait_ready(url)
    quotes = 3
    for _ in range(quotes):
        assert served.request("POST", "/quote/fr", ORDER)[0] == 200
    assert served.request("POST", "/quote/atlantis", ORDER)[0] == 400
    samples = scrape(url)

    def calls(interface: str, outcome: str = "ok") -> float:
        return value(samples, "wasmesh_calls_total", app="shop", caller="front",
                     interface=interface, placement="host-linked", outcome=outcome)  # fmt: skip

    assert (calls(TAX), calls(PRESENTATION)) == (2 * quotes + 1, 2 * quotes)
    assert total(samples, "wasmesh_calls_total") == 4 * quotes + 1
    assert total(samples, "wasmesh_calls_total", outcome="error") == 0
    assert value(samples, "wasmesh_call_duration_seconds_count", app="shop", caller="front",
                 interface=TAX, placement="host-linked") == 2 * quotes + 1  # fmt: skip
    assert value(samples, "wasmesh_http_requests_total", route="/quote/...", method="POST",
                 status="200") == quotes  # fmt: skip
    assert value(samples, "wasmesh_http_requests_total", route="/quote/...", method="POST",
                 status="400") == 1  # fmt: skip
    assert total(samples, "wasmesh_guest_traps_total") == 0
    assert served.stop() == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "wasmesh.request"]
    # each request has its own connection: a line may come out after the next request's
    assert sorted((r["path"], r["status"], r["unit"]) for r in requests) == [
        ("/quote/atlantis", 400, "front"), *[("/quote/fr", 200, "front")] * quotes
    ], log.read_text()


@pytest.mark.slow
def test_fused_calls_never_reach_the_host(up: list[Served], tmp_path: Path) -> None:
    served, _ = start(up, tmp_path, "monolith")
    url = admin_url(served)
    wait_ready(url)
    assert served.request("POST", "/quote/fr", ORDER)[0] == 200
    samples = scrape(url)
    assert value(samples, "wasmesh_http_requests_total", route="/quote/...", method="POST",
                 status="200") == 1  # fmt: skip
    assert total(samples, "wasmesh_calls_total") == 0


def test_bad_admin_values_are_one_sentence(tmp_path: Path) -> None:
    for args, said in (
        (["--admin", "9090"], "--admin `9090` is not HOST:PORT"),
        (["--log-format", "xml"], "--log-format `xml` is not one of text, json"),
        (["--log-level", "loud"], "--log-level `loud` is not one of"),
    ):
        r = subprocess.run([str(BIN / "wasmesh"), "up", str(EXAMPLE), "--listen", "127.0.0.1:0",
                            *args], capture_output=True, text=True, timeout=120)  # fmt: skip
        assert r.returncode == 2, r.stderr
        assert said in r.stderr and "Traceback" not in r.stderr, r.stderr
