"""Turning traces on from the standard OTEL_* environment: off unless asked (and then nothing
imports opentelemetry), one sentence for what wasmesh cannot export with, and every span of a
`wasmesh serve` sent to the collector when SIGTERM stops it."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import wasmesh_process
from tests.support.otlp import Receiver, receiving
from tests.support.processes import Served
from wasmesh.errors import WasmeshError
from wasmesh.observe import tracing

OTEL_VARS = ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
             "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
             "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_BSP_SCHEDULE_DELAY",
             "OTEL_EXPORTER_OTLP_TIMEOUT")  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as got:
        yield got


@pytest.mark.parametrize(
    ("env", "exporters"),
    [
        ({}, ()),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "console"}, ("console",)),
        ({"OTEL_TRACES_EXPORTER": "otlp, console,otlp"}, ("otlp", "console")),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, ()),
        ({"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, ()),
        ({"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_TRACES_EXPORTER": "otlp"},
         ("otlp",)),
    ],
)  # fmt: skip
def test_the_environment_says_whether_and_where(
    clean_env: pytest.MonkeyPatch, env: dict[str, str], exporters: tuple[str, ...]
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    assert tracing.exporters_from_env() == exporters


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER names `zipkin`"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
         "OTEL_EXPORTER_OTLP_PROTOCOL is `grpc`"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
         "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL is `http/json`"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"},
         "OTEL_EXPORTER_OTLP_ENDPOINT `localhost:4318` is not an http:// or https:// URL"),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "abc"},
         "OTEL_BSP_SCHEDULE_DELAY is `abc`, not a whole number of milliseconds"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TIMEOUT": "1.5s"},
         "OTEL_EXPORTER_OTLP_TIMEOUT is `1.5s`, not a whole number of seconds"),
    ],
)  # fmt: skip
def test_what_wasmesh_cannot_export_with_is_one_sentence(
    clean_env: pytest.MonkeyPatch, env: dict[str, str], said: str
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(WasmeshError, match="^" + re.escape(said)) as caught:
        tracing.configure()
    assert not tracing.enabled()
    assert "\n" not in str(caught.value) and str(caught.value).endswith(".")


def test_the_command_line_refuses_it_with_exit_2(guest: Callable[[str], Path]) -> None:
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "jaeger"}
    r = wasmesh_process("serve", guest("http-echo-py"), "--listen", "127.0.0.1:0",
                        "--workers", "1", env=env, timeout=60)  # fmt: skip
    assert r.code == 2, (r.out, r.err)
    assert "OTEL_TRACES_EXPORTER names `jaeger`" in r.err and "Traceback" not in r.err, r.err



def test_a_bad_batch_setting_is_one_sentence_not_a_traceback(
    guest: Callable[[str], Path],
) -> None:
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "abc"}
    r = wasmesh_process("serve", guest("http-echo-py"), "--listen", "127.0.0.1:0",
                        "--workers", "1", env=env, timeout=60)  # fmt: skip
    assert r.code == 2, (r.out, r.err)
    assert "OTEL_BSP_SCHEDULE_DELAY is `abc`" in r.err and "Traceback" not in r.err, r.err
    assert r.err.count("\n") == 1, r.err


def test_a_collector_down_is_one_warning_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExportResult

    from wasmesh.observe.exporting import ReportingExporter

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/v1/traces"
    span = TracerProvider().get_tracer("t").start_span("s")
    span.end()
    assert isinstance(span, ReadableSpan)
    exporter = ReportingExporter(OTLPSpanExporter(endpoint=url, timeout=1), url)
    with caplog.at_level(logging.INFO):  # the SDK's retries log at WARNING, failures at ERROR
        results = [exporter.export([span]) for _ in range(3)]
    exporter.shutdown()
    assert results == [SpanExportResult.FAILURE] * 3
    said = [(r.name, r.levelname, r.getMessage()) for r in caplog.records
            if r.name.startswith(("wasmesh", "opentelemetry"))]  # fmt: skip
    assert said == [("wasmesh.observe", "WARNING", f"cannot send spans to the collector at {url}; "
                     "spans are dropped until it answers (said once per outage)")]  # fmt: skip


def test_a_collector_that_does_not_answer_holds_shutdown_up_one_second_at_most(
    clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are taken, and never answered
        clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        clean_env.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "3")  # the flush thread's own end
        clean_env.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")  # everything waits for shutdown
        assert tracing.configure()
        provider = tracing._owned
        provider.get_tracer("t").start_span("s").end()
        with caplog.at_level(logging.WARNING, logger="wasmesh.observe"):
            tracing.shutdown()  # returns after SHUTDOWN_FLUSH_S, the spans given up
    assert [r.getMessage() for r in caplog.records] == [
        "spans still queued 1 s after stopping were dropped: the collector did not take them "
        "in time"
    ]
    assert not tracing.enabled()


def test_a_propagator_the_sdk_does_not_know_is_one_sentence(guest: Callable[[str], Path]) -> None:
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_PROPAGATORS": "bogus"}
    r = wasmesh_process("serve", guest("http-echo-py"), "--listen", "127.0.0.1:0",
                        "--workers", "1", env=env, timeout=60)  # fmt: skip
    assert r.code == 2, (r.out, r.err)
    assert "OpenTelemetry cannot trace with this environment" in r.err, r.err
    assert "bogus" in r.err and "Traceback" not in r.err, r.err


OFF_PROBE = """
import sys, threading, urllib.request
from wasmesh.observe import tracing
from wasmesh.triggers.http import Server
assert not tracing.configure()
server = Server({"/...": sys.argv[1]}, "127.0.0.1:0")
threading.Thread(target=server.serve_forever, daemon=True).start()
with urllib.request.urlopen(server.url + "/x", data=b"hi", timeout=60) as response:
    assert response.status == 200
server.shutdown(5)
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""


@pytest.mark.parametrize(
    "env",
    [{}, {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"},
     {"OTEL_TRACES_EXPORTER": "none"}],
)  # fmt: skip
def test_off_nothing_imports_opentelemetry(
    guest: Callable[[str], Path], env: dict[str, str]
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    probe = subprocess.run([sys.executable, "-c", OFF_PROBE, str(guest("http-echo-py"))],
                           env={**base, **env}, capture_output=True, text=True, timeout=120,
                           check=False)  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]", probe.stdout


def test_serve_sends_its_spans_when_sigterm_stops_it(
    guest: Callable[[str], Path], receiver: Receiver, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    clean_env.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")  # nothing leaves before the signal
    clean_env.setenv("OTEL_SERVICE_NAME", "echo-service")
    served = Served(["wasmesh", "serve", str(guest("http-echo-py")), "--listen", "127.0.0.1:0",
                     "--workers", "2"])  # fmt: skip
    try:
        for n in range(4):
            status, _, body = served.request("POST", f"/r{n}", b"ping")
            assert status == 200, body
        assert receiver.spans == []
    finally:
        assert served.stop() == 0
    receiver.wait_for(lambda spans: len(spans) >= 4, timeout=10)
    servers = [s for s in receiver.spans if s.kind == "server"]
    assert sorted(s.attributes["url.path"] for s in servers) == ["/r0", "/r1", "/r2", "/r3"]
    named = {(s.name, s.service, s.parent_id) for s in servers}
    assert named == {("POST /...", "echo-service", "")}
    assert all(s.attributes["http.response.status_code"] == 200 for s in servers)
    assert len({s.trace_id for s in servers}) == 4  # no caller: four traces
