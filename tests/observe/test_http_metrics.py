"""A real HTTP server serving a real component: after a known number of requests, traps,
timeouts and memory-limit hits, `/metrics` shows exactly those counts."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.observe.conftest import scrape, total, value
from tests.triggers.http.servers import request, running
from wasmesh.observe import requestlog
from wasmesh.observe.admin import AdminServer
from wasmesh.observe.metrics import Metrics
from wasmesh.policy import Limits, Policy
from wasmesh.triggers.http import PoolSettings, ServerLimits

ROUTE = "/..."
COMPONENT = "http-echo-py"
UNIT = {"app": COMPONENT, "component": COMPONENT}  # served alone: the app is its stem


@pytest.fixture(scope="module")
def echo_py(guest: Callable[[str], Path]) -> Path:
    return guest(COMPONENT)


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """The process's log as JSON lines, into a buffer; put back as it was afterwards."""
    out = io.StringIO()
    requestlog.configure("json", "info", out)
    try:
        yield out
    finally:
        requestlog.reset()


def test_requests_and_every_kind_of_guest_failure_are_counted_exactly(
    echo_py: Path, metrics: Metrics, admin: AdminServer
) -> None:
    policy = Policy(limits=Limits(memory_bytes=96 << 20))
    with running({ROUTE: echo_py}, limits=ServerLimits(request_timeout=2.0),
                 policy=policy) as server:  # fmt: skip
        n = 4
        for i in range(n):
            assert request(server, "GET", f"/hello/{i}")[0] == 200
        assert request(server, "POST", "/echo", b"x" * 1000)[0] == 200
        statuses = [request(server, "GET", path)[0]
                    for path in ("/trap", "/trap", "/loop", "/oom")]  # fmt: skip
        # Python turns running out of memory into a MemoryError, which traps before or after
        # the engine refuses the growth: 503 when the limit was hit, 500 when the guest trapped
        assert statuses[:3] == [500, 500, 504] and statuses[3] in (500, 503)
        oom = statuses[3] == 503
        samples = scrape(admin.url)

    def requests(method: str, status: int) -> float:
        return value(samples, "wasmesh_http_requests_total", route=ROUTE, method=method,
                     status=str(status))  # fmt: skip

    assert (requests("GET", 200), requests("POST", 200)) == (n, 1)
    assert (requests("GET", 500), requests("GET", 504), requests("GET", 503)) == (3 - oom, 1, oom)
    assert total(samples, "wasmesh_http_requests_total") == n + 5
    assert value(samples, "wasmesh_http_request_duration_seconds_count", route=ROUTE) == n + 5
    assert value(samples, "wasmesh_http_requests_in_flight") == 0
    traps = {kind: value(samples, "wasmesh_guest_traps_total", **UNIT, kind=kind)
             for kind in ("trap", "timeout", "memory-limit", "fuel")}  # fmt: skip
    assert traps == {"trap": 3 - oom, "timeout": 1, "memory-limit": oom, "fuel": 0}
    # a fresh instance per request, every one closed by now
    assert value(samples, "wasmesh_instances_created_total", **UNIT) == n + 5
    assert value(samples, "wasmesh_instantiate_duration_seconds_count",
                 **UNIT) == n + 5  # fmt: skip
    assert value(samples, "wasmesh_instances_reused_total", **UNIT) == 0
    assert value(samples, "wasmesh_instances_live", **UNIT) == 0
    assert value(samples, "wasmesh_pool_slots_used") == 0
    assert value(samples, "wasmesh_pool_slots") > 0


def test_warm_instances_are_counted_as_reused_and_live(
    echo_py: Path, metrics: Metrics, admin: AdminServer, logged: io.StringIO
) -> None:
    settings = PoolSettings(max_reuse=100, max_concurrent=1)
    with running({ROUTE: echo_py}, pool=settings) as server:
        for i in range(5):
            assert request(server, "GET", f"/warm/{i}")[0] == 200
        samples = scrape(admin.url)
        assert value(samples, "wasmesh_instances_created_total", **UNIT) == 1
        assert value(samples, "wasmesh_instances_reused_total", **UNIT) == 4
        assert value(samples, "wasmesh_instances_live", **UNIT) == 1
        assert value(samples, "wasmesh_pool_slots_used") == 1
    # closing the server dropped the warm instance
    assert value(scrape(admin.url), "wasmesh_instances_live", **UNIT) == 0
    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    served = [line for line in lines if line["logger"] == requestlog.REQUEST_LOGGER]
    # a line may come out after the next request's (each has its own connection)
    assert sorted((r["method"], r["path"], r["status"], r["instance"]) for r in served) == [
        ("GET", f"/warm/{i}", 200, "reused" if i else "fresh") for i in range(5)
    ]
    first = next(r for r in served if r["path"] == "/warm/0")
    assert first["route"] == ROUTE and first["unit"] == COMPONENT and first["level"] == "info"
    assert first["bytes"] == len(b"hello GET /warm/0") and first["duration_ms"] > 0
    assert first["time"].endswith("Z")


def test_the_request_log_as_text_and_guest_output_tagged(echo_py: Path) -> None:
    out = io.StringIO()
    requestlog.configure("text", "info", out)
    try:
        with running({ROUTE: echo_py}) as server:
            assert request(server, "GET", "/wasi")[0] == 200
            assert request(server, "GET", "/trap")[0] == 500
    finally:
        requestlog.reset()
    text = out.getvalue()
    assert "GET /wasi 200 " in text and f" ms {COMPONENT} {ROUTE} fresh" in text
    assert f"{COMPONENT} | stdout: wasi probe ran" in text  # the guest's own output
    assert re.search(rf"^\d\d:\d\d:\d\d {COMPONENT} \| stdout: wasi probe ran$", text, re.M), text
    assert "GET /trap 500 " in text and "warning" in text  # the failure, explained


def test_warning_level_leaves_request_lines_out(echo_py: Path, metrics: Metrics) -> None:
    out = io.StringIO()
    requestlog.configure("json", "warning", out)
    try:
        with running({ROUTE: echo_py}) as server:
            assert request(server, "GET", "/quiet")[0] == 200
            assert request(server, "GET", "/trap")[0] == 500
    finally:
        requestlog.reset()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["level"] for line in lines if line["logger"] == "wasmesh.http"] == ["warning"]
    assert not [line for line in lines if line["logger"] == requestlog.REQUEST_LOGGER]
    assert logging.getLogger("wasmesh").handlers == []  # reset put the log back


def test_a_head_too_large_is_logged_without_a_route(
    echo_py: Path, metrics: Metrics, admin: AdminServer, logged: io.StringIO
) -> None:
    with running({ROUTE: echo_py}, limits=ServerLimits(max_header_bytes=1024)) as server:
        assert request(server, "GET", "/big", headers={"x-big": "a" * 2048})[0] == 431
        samples = scrape(admin.url)
    assert value(samples, "wasmesh_http_requests_total", route="(none)", method="GET",
                 status="431") == 1  # fmt: skip
    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    [line] = [line for line in lines if line["logger"] == requestlog.REQUEST_LOGGER]
    # the metrics' label for "no route", so the two can be joined
    assert (line["status"], line["route"], line["unit"]) == (431, "(none)", "")


def test_a_request_refused_before_routing_is_logged_with_the_status_sent(
    echo_py: Path, metrics: Metrics, admin: AdminServer, logged: io.StringIO
) -> None:
    import socket

    with running({ROUTE: echo_py}) as server:
        for head in (b"GET /v HTTP/9.9\r\nHost: x\r\n\r\n",
                     b"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Length: 3\r\n\r\n0\r\n\r\n",
                     b"GET /h HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n"):  # fmt: skip
            with socket.create_connection(server.address, timeout=30) as sock:
                sock.sendall(head)
                while sock.recv(65536):
                    pass
        samples = scrape(admin.url)
    assert value(samples, "wasmesh_http_requests_total", route="(none)", method="GET",
                 status="505") == 1  # fmt: skip
    assert value(samples, "wasmesh_http_requests_total", route="(none)", method="POST",
                 status="400") == 1  # fmt: skip
    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    answered = [(line["path"], line["status"]) for line in lines
                if line["logger"] == requestlog.REQUEST_LOGGER]  # fmt: skip
    assert answered == [("/v", 505), ("/e", 400), ("-", 400)]  # h11 could not parse the last
    assert value(samples, "wasmesh_http_requests_total", route="(none)", method="other",
                 status="400") == 1  # fmt: skip


def test_an_instance_that_cannot_start_names_its_unit_and_is_no_trap(
    echo_py: Path, metrics: Metrics, admin: AdminServer, logged: io.StringIO
) -> None:
    tiny = Policy(limits=Limits(memory_bytes=1000))
    with running({ROUTE: echo_py}, policy=tiny) as server:
        assert request(server, "GET", "/starved")[0] == 500
        samples = scrape(admin.url)
    assert value(samples, "wasmesh_instantiation_failures_total", **UNIT,
                 kind="memory-limit") == 1  # fmt: skip
    assert total(samples, "wasmesh_guest_traps_total") == 0
    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    [line] = [line for line in lines if line["logger"] == requestlog.REQUEST_LOGGER]
    assert (line["status"], line["route"], line["unit"]) == (500, ROUTE, COMPONENT)


def test_a_timeout_is_said_once(echo_py: Path, logged: io.StringIO) -> None:
    with running({ROUTE: echo_py}, limits=ServerLimits(request_timeout=0.5)) as server:
        assert request(server, "GET", "/loop")[0] == 504
    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    [warning] = [line["message"] for line in lines if line["level"] == "warning"]
    assert warning == f"{COMPONENT} /loop: the component ran past its time limit"
