"""`wasmesh serve`, `wasmesh up` and `scripts/example.py`: real processes answering real HTTP."""

from __future__ import annotations

import json
import re
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh
from tests.support.processes import Served

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "polyglot"
ORDER = [
    {"sku": "tea", "quantity": 3, "unit-cents": 450},
    {"sku": "cup", "quantity": 2, "unit-cents": 999},
]
ORDER_WAVE = (
    '[{sku: "tea", quantity: 3, unit-cents: 450}, {sku: "cup", quantity: 2, unit-cents: 999}]'
)


@pytest.fixture
def serving() -> Iterator[Callable[..., Served]]:
    """Start `wasmesh ARGS` (or a script) as a child; every child is stopped afterwards."""
    started: list[Served] = []

    def start(*args: str | Path, script: Path | None = None) -> Served:
        head = [sys.executable, str(script)] if script else [str(BIN / "wasmesh")]
        served = Served([*head, *map(str, args)])
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture(scope="module")
def echo_py(guest: Callable[[str], Path]) -> Path:
    return guest("http-echo-py")


def test_serve_answers_and_stops_on_sigterm(serving: Callable[..., Served], echo_py: Path) -> None:
    served = serving("serve", echo_py, "--listen", "127.0.0.1:0", "--env", "GREETING=hi")
    status, _, body = served.request("GET", "/hello?x=1")
    assert (status, body) == (200, b"hello GET /hello?x=1")
    status, _, body = served.request("POST", "/echo", b"ping" * 1000)
    assert (status, body) == (200, b"ping" * 1000)
    assert served.stop() == 0


def test_serve_keeps_instances_with_max_reuse(
    serving: Callable[..., Served], echo_py: Path
) -> None:
    served = serving("serve", echo_py, "--listen", "127.0.0.1:0", "--max-reuse", "50",
                     "--max-concurrent", "1", "--request-timeout", "2")  # fmt: skip
    for _ in range(3):
        assert served.request("GET", "/status/201")[0] == 201
    assert served.request("GET", "/loop")[0] == 504  # the request timeout applies
    assert served.request("GET", "/status/202")[0] == 202  # a fresh instance replaced it


def test_serve_refuses_a_component_without_http_handler(guest: Callable[[str], Path]) -> None:
    r = wasmesh("serve", guest("calc-c"), "--listen", "127.0.0.1:0")
    assert r.code == 2
    assert "wasi:http/incoming-handler" in r.err and len(r.err.strip().splitlines()) == 1


def test_serve_errors_on_an_address_in_use(echo_py: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        r = wasmesh("serve", echo_py, "--listen", f"127.0.0.1:{port}")
    assert r.code == 2
    assert r.err == (f"error: --listen 127.0.0.1:{port}: the address is in use; pick another port "
                     "(or 0 for any free one).\n")  # fmt: skip


def test_serve_errors_on_bad_options(echo_py: Path, tmp_path: Path) -> None:
    r = wasmesh("serve", echo_py, "--listen", "8080")
    assert r.code == 2 and "HOST:PORT" in r.err
    r = wasmesh("serve", echo_py, "--memory-limit", "lots")
    assert r.code == 2 and "lots" in r.err
    r = wasmesh("serve", tmp_path / "missing.wasm")
    assert r.code == 2 and "missing.wasm" in r.err
    r = wasmesh("serve", echo_py, "--pool-instances", "-1")
    assert r.code == 2 and "--pool-instances must be 0 (no pool) or more" in r.err


def test_up_errors_on_bad_reuse_options(tmp_path: Path) -> None:
    r = wasmesh("up", tmp_path, "--max-reuse", "0")
    assert r.code == 2 and "--max-reuse must be at least 1, got 0" in r.err
    r = wasmesh("up", tmp_path, "--idle-timeout", "0")
    assert r.code == 2 and "--idle-timeout `0` is out of range" in r.err
    r = wasmesh("up", tmp_path, "--pool-instances", "-2")
    assert r.code == 2 and "--pool-instances" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("topology", ["monolith", "per-component"])
def test_up_serves_the_polyglot_quote(serving: Callable[..., Served], topology: str) -> None:
    served = serving("up", EXAMPLE, "--topology", topology, "--listen", "127.0.0.1:0")
    assert any(re.search(r"/quote/\.\.\.\s+-> front \(unit \w+\)", ln) for ln in served.lines)
    status, kind, body = served.request("POST", "/quote/fr", json.dumps(ORDER).encode())
    assert (status, kind) == (200, "application/json")
    offer = json.loads(body)
    assert offer == {
        "subtotal-cents": 3348, "discount-cents": 0, "tax-cents": 670, "total-cents": 4018,
        "summary": "5 items, €40.18 incl. tax",
    }  # fmt: skip
    invoked = wasmesh("invoke", "--app", EXAMPLE, "--topology", topology, "--json", "quote",
                      ORDER_WAVE, '"fr"')  # fmt: skip
    assert invoked.code == 0, invoked.err
    assert json.loads(invoked.out) == {"ok": offer}

    assert served.request("GET", "/quote/health")[:3:2] == (200, b"ok\n")
    status, _, body = served.request("POST", "/quote/atlantis", json.dumps(ORDER).encode())
    assert (status, json.loads(body)) == (400, {"error": "unknown-region", "detail": "atlantis"})
    status, _, body = served.request("POST", "/quote/fr", b"[")
    assert status == 400 and json.loads(body)["error"] == "bad-request"
    status, _, body = served.request("POST", "/quote/fr", b"[]")
    assert (status, json.loads(body)) == (400, {"error": "empty-order"})
    assert served.request("GET", "/elsewhere")[0] == 404  # no route: the front never sees it
    assert served.stop() == 0


def test_up_without_http_routes_says_what_to_add(tmp_path: Path) -> None:
    assert wasmesh("new", "hello", "--lang", "c", "--app", tmp_path).code == 0
    r = wasmesh("up", tmp_path, "--listen", "127.0.0.1:0")
    assert r.code == 2 and "[[triggers.http]]" in r.err


def test_example_script_quotes_one_order(serving: Callable[..., Served]) -> None:
    served = serving("--check", "--listen", "127.0.0.1:0", script=ROOT / "scripts" / "example.py")
    assert served.proc.wait(120) == 0
    assert served.proc.stdout is not None
    out = "".join(served.lines) + served.proc.stdout.read()
    assert "curl -s -X POST http://127.0.0.1:" in out
    assert "POST /quote/fr -> 200" in out and '"total-cents": 4018' in out


def test_guest_output_reaches_the_server_log(serving: Callable[..., Served], echo_py: Path) -> None:
    served = serving("serve", echo_py, "--listen", "127.0.0.1:0")
    assert served.request("GET", "/wasi")[0] == 200
    served.proc.send_signal(signal.SIGTERM)
    _, err = served.proc.communicate(timeout=60)
    # Prefixed with the component, as `wasmtime serve` prefixes its guests' output.
    assert "http-echo-py | stdout: wasi probe ran" in err


def test_a_file_that_is_not_a_component_is_refused_before_workers_start(tmp_path: Path) -> None:
    text = tmp_path / "app.wasm"
    text.write_text("hello")
    r = wasmesh("serve", text, "--workers", "2", "--listen", "127.0.0.1:0")
    assert r.code == 2, r.err
    assert "is not a WebAssembly file" in r.err and "worker" not in r.err, r.err
