"""HTTP ingress: every host with `--http` serves the app's routes, forwarding when the unit
owning a route runs elsewhere."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmesh.engine.values import Ok, Record
from wasmesh.lattice.app import Placement, topology_from_manifest
from wasmesh.lattice.httpwire import decode, encode
from wasmesh.lattice.schema import H_DEADLINE
from wasmesh.lattice.server import NatsServer

from .conftest import admin, host, lattice, run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "polyglot" / "wasmesh.toml"  # built in its own .wasmesh, like the CLI
QUOTE = "shop:pricing/quote@0.1.0#quote"
ORDER = [{"sku": "tea", "quantity": 3, "unit-cents": 450}]


def fetch(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    """(status, body) of one request; error statuses are answers too."""
    method = "POST" if data is not None else "GET"
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


async def afetch(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    # off the loop: the hosts in this process forward on it
    return await asyncio.get_running_loop().run_in_executor(None, fetch, url, data)


async def until_status(url: str, status: int, timeout: float = 20.0) -> tuple[int, bytes]:
    deadline = time.monotonic() + timeout
    while True:
        got = await afetch(url)
        if got[0] == status or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.1)


def test_messages_carry_any_header_bytes_and_body() -> None:
    headers = [("x-a", b"\xff\x00 v"), ("x-a", b"second")]
    head, back, body = decode(encode({"status": 201}, headers, b"\n\x00body"))
    assert (head, back, body) == ({"status": 201}, headers, b"\n\x00body")


@pytest.mark.slow
def test_every_http_host_serves_the_routes_forwarding_to_the_unit(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    where = {"front": Placement(labels={"lang": "python"})}
    app, topology = topology_from_manifest(EXAMPLE, where, strategy="per-component")
    assert dict(topology.routes) == {"/quote/...": "front"}
    front = next(u for u in topology.units if u.name == "front")
    assert front.policy.limits.memory_bytes == 128 * 1024 * 1024
    assert front.policy.limits.timeout == 5

    async def scenario() -> None:
        py = host(nats_server, labels={"lang": "python"}, host_id="py",
                  cache_dir=tmp_path / "a", http="127.0.0.1:0")  # fmt: skip
        other = host(nats_server, host_id="other", cache_dir=tmp_path / "b",
                     http="127.0.0.1:0")  # fmt: skip
        try:
            for h in (py, other):
                await h.start()
            async with admin(nats_server) as client:
                await client.deploy(app, topology)
                status = await client.wait_ready(app, 60)
                assert status.running("front") == ["py"]
                invoked = await client.invoke(app, QUOTE, [[Record(ORDER[0])], "fr"])
                assert isinstance(invoked, Ok)
                expected: dict[str, Any] = dict(invoked.value)
                order = json.dumps(ORDER).encode()
                for h in (py, other):
                    url = h.ingress.url
                    assert await until_status(f"{url}/quote/health", 200) == (200, b"ok\n")
                    code, body = await afetch(f"{url}/quote/fr", order)
                    assert (code, json.loads(body)) == (200, expected), h.host_id
                    code, body = await afetch(f"{url}/quote/mars", order)
                    assert code == 400 and json.loads(body)["error"] == "unknown-region"
                    assert (await afetch(f"{url}/nowhere"))[0] == 404
                assert (app, "front") in py.ingress.units
                assert (app, "front") not in other.ingress.units  # so `other` forwarded
                too_big = b"[" + b" " * other.nc.max_payload + b"]"
                code, body = await afetch(f"{other.ingress.url}/quote/fr", too_big)
                assert code == 413 and b"forwarded" in body
                await client.undeploy(app)
                for h in (py, other):
                    code, _ = await until_status(f"{h.ingress.url}/quote/health", 404)
                    assert code == 404, h.host_id
                await client.deploy(app, topology)
                await client.wait_ready(app, 60)
                assert (await until_status(f"{other.ingress.url}/quote/health", 200))[0] == 200
                await py.stop()  # front has no other host it may run on
                code, body = await afetch(f"{other.ingress.url}/quote/health")
                assert code == 503 and b"no host runs front" in body
        finally:
            for h in (py, other):
                await h.stop()

    run(scenario(), 180)


def test_inherited_env_is_read_on_the_host_not_the_deployer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wasmesh.lattice.schema import UnitSpec
    from wasmesh.policy import Grants, Policy

    monkeypatch.setenv("WASMESH_REGION", "deployer")
    policy = Policy(Grants(env=(("A", "1"),), env_inherit=("WASMESH_REGION",))).to_json()
    assert "deployer" not in json.dumps(policy)  # only the name travels in the desired state
    monkeypatch.setenv("WASMESH_REGION", "host")
    grants = UnitSpec("front", "0" * 64, policy=policy).unit_policy().grants
    assert grants.environment() == [("WASMESH_REGION", "host"), ("A", "1")]


def test_a_forwarded_request_stops_when_the_forwarding_host_stops_waiting(
    nats_server: NatsServer, tmp_path: Path, guest: Callable[[str], Path]
) -> None:
    """The forwarding host sends its deadline (`wasmesh-deadline`): the serving host stops a
    guest that spins at that deadline and answers 504, though the unit's policy sets no
    timeout (its own default would be tens of seconds)."""
    manifest = tmp_path / "wasmesh.toml"
    manifest.write_text(f"""
[app]
name = "spinner"

[components.front]
source = "{guest("parity-probe-py")}"

[components.dep]
source = "{guest("parity-dep-c")}"

[[triggers.http]]
route = "/p/..."
component = "front"
""")
    app, topology = topology_from_manifest(manifest, {}, cache=tmp_path / "build")

    async def scenario() -> None:
        async with lattice(nats_server, tmp_path, {}) as (client, hosts):
            await client.deploy(app, topology)
            await client.wait_ready(app, 60)
            (unit,) = (u.name for u in topology.units)
            h = hosts[0]
            subject = h.subjects.http(app, unit)
            ask = encode({"method": "GET", "target": "/p/spin", "authority": "x"}, [], b"")
            started = time.monotonic()
            reply = await h.nc.request(subject, ask, timeout=20, headers={H_DEADLINE: "1"})
            took = time.monotonic() - started
            head, _, _ = decode(reply.data)
            assert head["status"] == 504
            assert took < 10, took

    run(scenario(), 120)
