"""The dashboard's server over real HTTP: the page and its assets, the lattice document as JSON
and as server-sent events, for two in-process hosts on a real nats-server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

from tests.lattice.conftest import lattice, run
from tests.support.events import events, fetch
from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.topology import Topology
from wasmesh.observe.dashboard.server import DashboardServer
from wasmesh.observe.dashboard.view import LatticeView
from wasmesh.observe.metrics import Metrics


def raw(port: int, data: bytes) -> bytes:
    """What the server answers to `data` sent as is, until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def test_page_state_and_events_of_a_two_host_lattice(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology], metrics: Metrics
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path, {"zone": "a"}, {"zone": "b"}) as (admin, _):
            await admin.deploy("shop", shop())
            await admin.wait_ready("shop", 30)
            view = LatticeView(nats_server.options("client"))  # any role reads the dashboard
            await view.start()
            server = DashboardServer(view)
            await server.start()
            loop = asyncio.get_running_loop()

            async def get(path: str, method: str = "GET") -> tuple[int, str, bytes]:
                return await loop.run_in_executor(None, fetch, server.url + path, method)

            try:
                status, kind, page = await get("/")
                assert (status, kind) == (200, "text/html; charset=utf-8")
                assert b'<script src="dashboard.js">' in page and b"http" not in page.lower()
                status, kind, script = await get("/dashboard.js")
                assert status == 200 and kind.startswith("text/javascript")
                assert b'new EventSource("events")' in script
                assert (await get("/dashboard.css"))[0] == 200
                assert (await get("/nothing"))[:2] == (404, "text/plain")
                assert (await get("/", "POST"))[0] == 405
                assert (await get("/", "HEAD"))[2] == b""
                answer = await loop.run_in_executor(None, raw, server.port, b"NOT HTTP\r\n\r\n")
                assert answer.startswith(b"HTTP/1.1 400 ")

                deadline = time.monotonic() + 30
                while True:  # the hosts' statistics arrive every second
                    doc = json.loads((await get("/api/state"))[2])
                    hosts = {h["host"]: h for h in doc["hosts"]}
                    if set(hosts) == {"h0", "h1"} and all(h["load"] for h in hosts.values()):
                        break
                    assert time.monotonic() < deadline, doc
                    await asyncio.sleep(0.2)
                assert hosts["h0"]["labels"] == {"zone": "a"}
                assert hosts["h0"]["load"]["rss_bytes"] > 0
                assert sorted(u for h in hosts.values() for u in h["units"]) == [
                    "shop/front", "shop/math"]  # fmt: skip
                [app] = doc["apps"]
                assert (app["app"], app["version"], app["ready"]) == ("shop", 1, True)
                assert set(app["units"]) == {"front", "math"}
                [graph] = doc["graph"]
                assert {u["unit"] for u in graph["units"]} == {"front", "math"}
                [edge] = graph["edges"]
                assert (edge["from"], edge["to"]) == ("front", "math")
                assert doc["rollouts"][0] == {"app": "shop", "version": 1, "app_version": "",
                                              "rolled_back_to": None, "current": True,
                                              "ready": True}  # fmt: skip

                async with LatticeClient(nats_server.options("client")) as caller:
                    for _ in range(5):  # front calls math twice each time, over NATS
                        assert await caller.invoke("shop", "sum3", [1, 2, 3]) == 6
                while True:  # both hosts are in this process: each reports its metrics
                    doc = json.loads((await get("/api/state"))[2])
                    [edge] = doc["graph"][0]["edges"]
                    if edge["calls"] >= 2 * 5 * 2:
                        break
                    assert time.monotonic() < deadline + 30, edge
                    await asyncio.sleep(0.2)
                assert edge["calls_per_s"] > 0 and 0 < edge["p50_ms"] <= edge["p99_ms"]
                kind, got = await loop.run_in_executor(None, events, server.url + "/events", 2)
                assert kind == "text/event-stream"
                assert [name for name, _ in got] == ["state", "state"]
                first, second = (data for _, data in got)
                assert second["at"] > first["at"]  # a new document every second
                assert {h["host"] for h in second["hosts"]} == {"h0", "h1"}
                assert second["graph"][0]["edges"][0]["interface"] == edge["interface"]
            finally:
                await server.close()
                await view.close()

    run(scenario(), 120)
