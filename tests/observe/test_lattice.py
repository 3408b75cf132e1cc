"""Lattice hosts as real processes, each with its admin listener on a loopback port (their
default), found from the line each prints and from their heartbeats; after a known number of
calls across hosts, the hosts' `/metrics` add up to exactly those counts."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from tests.lattice.conftest import admin, host_processes, nats_server, run, secrets, shop
from tests.observe.conftest import Samples, scrape, total, value
from tests.observe.test_up import wait_ready
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.topology import Topology

__all__ = ["host_processes", "nats_server", "secrets", "shop"]  # fixtures used here

MATH = "wasmesh:lattice-test/math"


def admin_of(hosts: LocalHosts, host_id: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        found = re.search(r"Admin on (http://\S+?)/ ", hosts.log(host_id))
        if found:
            return found[1]
        assert hosts.procs[host_id].poll() is None, hosts.log(host_id)
        assert time.monotonic() < deadline, hosts.log(host_id)
        time.sleep(0.05)


def summed(urls: list[str]) -> Callable[..., float]:
    scraped: list[Samples] = [scrape(url) for url in urls]

    def add(name: str, **labels: str) -> float:
        return sum(value(s, name, **labels) for s in scraped)

    return add


@pytest.mark.slow
def test_calls_across_hosts_and_their_failures_are_counted_exactly(
    nats_server: NatsServer, host_processes: LocalHosts, shop: Callable[..., Topology]
) -> None:
    for name in ("h0", "h1"):
        host_processes.start(name)
    urls = [admin_of(host_processes, name) for name in ("h0", "h1")]
    sums, failures, elsewhere = 5, 2, 3

    async def scenario() -> dict[str, str]:
        async with admin(nats_server) as client:
            # a second app with units of the same names: its figures are its own
            for app in ("shop", "outlet"):
                await client.deploy(app, shop())
            for app in ("shop", "outlet"):
                await client.wait_ready(app, 60)
            for i in range(sums):
                assert await client.invoke("shop", "sum3", [i, 1, 1], timeout=10) == i + 2
            for i in range(elsewhere):
                assert await client.invoke("outlet", "sum3", [i, 1, 1], timeout=10) == i + 2
            for _ in range(failures):
                with pytest.raises(Exception, match="unreachable"):
                    await client.invoke("shop", "fail-through", [], timeout=10)
            return {h.host: h.admin for h in await client.hosts()}

    advertised = run(scenario())
    assert advertised == {"h0": urls[0], "h1": urls[1]}
    for url in urls:
        wait_ready(url)
    count = summed(urls)
    calls = {outcome: count("wasmesh_calls_total", app="shop", caller="front", interface=MATH,
                            placement="lattice", outcome=outcome)
             for outcome in ("ok", "error")}  # fmt: skip
    assert calls == {"ok": 2 * sums, "error": failures}
    assert count("wasmesh_calls_total", app="outlet", caller="front", interface=MATH,
                 placement="lattice", outcome="ok") == 2 * elsewhere  # fmt: skip
    assert count("wasmesh_guest_traps_total", app="outlet", component="front",
                 kind="trap") == 0  # fmt: skip
    assert count("wasmesh_call_duration_seconds_count", app="shop", caller="front", interface=MATH,
                 placement="lattice") == 2 * sums + failures  # fmt: skip
    errors = sum(total(scrape(url), "wasmesh_rpc_errors_total", kind="remote-trap")
                 for url in urls)  # fmt: skip
    assert errors == failures
    # math trapped; front trapped in turn, its import having failed
    assert count("wasmesh_guest_traps_total", app="shop", component="math",
                 kind="trap") == failures  # fmt: skip
    assert count("wasmesh_guest_traps_total", app="shop", component="front",
                 kind="trap") == failures  # fmt: skip
    assert sum(total(scrape(url), "wasmesh_calls_total", placement="host-linked")
               for url in urls) == 0  # fmt: skip
