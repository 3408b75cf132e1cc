"""`wasmesh up` of an app split into units: one request is one trace, the calls between the
units client spans under the request's server span, all sent when SIGTERM stops it."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.otlp import Receiver, receiving
from tests.support.processes import Served
from wasmesh.runtime.app import App

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "polyglot"
TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER = "b7ad6b7169203331"


@pytest.fixture(scope="module")
def example() -> Path:
    """Built and compiled before `up` runs it, so the process never waits on a cold build."""
    App.load(EXAMPLE / "wasmesh.toml", strategy="per-component").close()
    return EXAMPLE


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as got:
        yield got


def test_up_traces_a_request_through_its_units(
    example: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{receiver.url}/v1/traces")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")
    served = Served(["wasmesh", "up", str(example), "--topology", "per-component", "--listen",
                     "127.0.0.1:0"])  # fmt: skip
    try:
        conn = http.client.HTTPConnection(*served.address, timeout=60)
        order = json.dumps([{"sku": "tea", "quantity": 3, "unit-cents": 450}])
        conn.request("POST", "/quote/fr", body=order,
                     headers={"traceparent": f"00-{TRACE}-{CALLER}-01"})  # fmt: skip
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["total-cents"] == 1620
        conn.close()
    finally:
        assert served.stop() == 0
    receiver.wait_for(lambda spans: any(s.kind == "client" for s in spans), timeout=15)
    spans = {s.span_id: s for s in receiver.spans if s.trace_id == TRACE}
    (root,) = (s for s in spans.values() if s.parent_id == CALLER)
    assert (root.name, root.kind, root.service) == ("POST /quote/...", "server", "wasmesh")
    calls = [s for s in spans.values() if s.kind == "client"]
    assert calls, spans
    for call in calls:
        assert call.attributes["wasmesh.transport"] == "in-process"
        assert call.name == f"{call.attributes['rpc.service']}/{call.attributes['rpc.method']}"
        parent = call
        while parent.parent_id != CALLER:  # every call hangs under the request's span
            parent = spans[parent.parent_id]
        assert parent is root
