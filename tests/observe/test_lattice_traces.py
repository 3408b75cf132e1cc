"""One request through an app spread over two `wasmesh host` processes is one trace: each host
exports its spans over OTLP/HTTP to a receiver in this process, and the spans of both hosts
share the caller's trace id, linked parent to child across the NATS hops."""

from __future__ import annotations

import json
import re
import secrets as tokens
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lattice.conftest import admin, nats_server, run, secrets
from tests.support.otlp import Received, Receiver, receiving
from wasmesh.lattice.app import Placement, topology_from_manifest
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer
from wasmesh.runtime.app import App

pytestmark = pytest.mark.slow

__all__ = ["nats_server", "secrets"]  # fixtures of the lattice tests, used here

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "polyglot"
ORDER = json.dumps([{"sku": "tea", "quantity": 3, "unit-cents": 450}]).encode()


@pytest.fixture(scope="module")
def example() -> Path:
    """The example built and compiled ahead of time, so no host compiles within a bound."""
    App.load(EXAMPLE / "wasmesh.toml", strategy="per-component").close()
    return EXAMPLE


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as got:
        yield got


def post(url: str, traceparent: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=ORDER, method="POST",
                                     headers={"traceparent": traceparent})  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


def http_url(hosts: LocalHosts, host_id: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Serving HTTP on (http://[\d.]+:\d+)/", hosts.log(host_id))
        if found:
            return found[1]
        time.sleep(0.1)
    raise AssertionError(f"host {host_id} never served HTTP:\n{hosts.log(host_id)}")


def check_tree(spans: list[Received], trace_id: str, caller: str) -> dict[str, Received]:
    """The spans of one trace form one tree under the caller's span `caller`."""
    by_id = {s.span_id: s for s in spans if s.trace_id == trace_id}
    for span in by_id.values():
        assert span.parent_id == caller or span.parent_id in by_id, span
    return by_id


def test_one_request_is_one_trace_across_two_host_processes(
    example: Path,
    nats_server: NatsServer,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    # Nothing is sent on a timer within the test: spans arrive only because SIGTERM flushes them.
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    where = {"front": Placement(labels={"role": "front"})}
    where |= {name: Placement(labels={"role": "back"}) for name in ("tax", "presentation",
                                                                     "receipt")}  # fmt: skip
    app, topology = topology_from_manifest(example / "wasmesh.toml", where,
                                           strategy="per-component")  # fmt: skip
    assert nats_server.secrets is not None
    args = ("--trust", str(nats_server.secrets.lattice().trust), "--http", "127.0.0.1:0",
            "--drain-timeout", "5")  # fmt: skip
    hosts = LocalHosts(nats_server.url, tmp_path, options=nats_server.options("host"), args=args)
    try:
        hosts.start("a", "role=front")
        hosts.start("b", "role=back")

        async def deploy() -> None:
            async with admin(nats_server) as client:
                await client.deploy(app, topology)
                status = await client.wait_ready(app, 120)
                assert status.running("front") == ["a"], status
                assert status.running("tax") == ["b"], status

        run(deploy(), 180)
        at_a, at_b = http_url(hosts, "a"), http_url(hosts, "b")
        direct, forwarded = tokens.token_hex(16), tokens.token_hex(16)
        caller_a, caller_b = tokens.token_hex(8), tokens.token_hex(8)
        status, body = post(f"{at_a}/quote/fr", f"00-{direct}-{caller_a}-01")
        assert status == 200 and json.loads(body)["total-cents"] == 1620, body
        # the same request at the host that does not run `front`: forwarded to the one that does
        status, body = post(f"{at_b}/quote/fr", f"00-{forwarded}-{caller_b}-01")
        assert status == 200 and json.loads(body)["total-cents"] == 1620, body
        assert receiver.spans == []  # still batched in the hosts
    finally:
        hosts.stop_all(timeout=60)  # SIGTERM: each host drains, then sends what it holds

    def both_hosts(trace_id: str) -> bool:
        services = {s.service for s in receiver.spans if s.trace_id == trace_id}
        return services == {"wasmesh-host-a", "wasmesh-host-b"}

    receiver.wait_for(lambda spans: both_hosts(direct) and both_hosts(forwarded))

    # Straight to host a: its server span continues the caller's trace; every call `front`
    # makes to a unit on b is a client span on a, parent of b's server span of the same name.
    spans = check_tree(receiver.spans, direct, caller_a)
    (root,) = (s for s in spans.values() if s.parent_id == caller_a)
    assert (root.name, root.kind, root.service) == ("POST /quote/...", "server", "wasmesh-host-a")
    assert root.attributes["http.route"] == "/quote/..."
    assert root.attributes["http.request.method"] == "POST"
    assert root.attributes["url.path"] == "/quote/fr"
    assert root.attributes["http.response.status_code"] == 200
    assert root.resource["service.instance.id"] == "a"
    remote = [s for s in spans.values() if s.service == "wasmesh-host-b"]
    assert remote and all(s.kind in ("server", "internal") for s in remote)
    served = [s for s in remote if s.kind == "server"]
    assert served, remote
    for span in served:
        parent = spans[span.parent_id]
        assert (parent.kind, parent.service, parent.name) == ("client", "wasmesh-host-a",
                                                              span.name)  # fmt: skip
        assert parent.attributes["wasmesh.transport"] == "nats"
        assert span.attributes["rpc.system"] == "wasmesh"
        assert span.name == f"{span.attributes['rpc.service']}/{span.attributes['rpc.method']}"
    assert not any(s.error for s in spans.values())

    # At host b, which forwards the request to a: b's server span, then a's, then a's calls
    # back to the units on b.
    spans = check_tree(receiver.spans, forwarded, caller_b)
    (root,) = (s for s in spans.values() if s.parent_id == caller_b)
    assert (root.name, root.kind, root.service) == ("POST /quote/...", "server", "wasmesh-host-b")
    (handled,) = (s for s in spans.values() if s.parent_id == root.span_id)
    assert (handled.name, handled.kind, handled.service) == ("POST", "server", "wasmesh-host-a")
    assert handled.attributes["http.response.status_code"] == 200
    calls = [s for s in spans.values() if s.kind == "server" and "rpc.system" in s.attributes]
    assert calls and {s.service for s in calls} == {"wasmesh-host-b"}
