"""The blocking twins the CLI calls, against a host process."""

from __future__ import annotations

import time
from collections.abc import Callable

from wasmesh.lattice import sync
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.signing import Signer
from wasmesh.lattice.status import AppStatus
from wasmesh.lattice.topology import Topology


def until_ready(app: str, url: NatsOptions, version: int) -> AppStatus:
    deadline = time.monotonic() + 30
    while True:
        status = sync.status(app, url)
        if (status.ready and status.desired.version == version) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_deploy_invoke_rollback_undeploy_blocking(
    nats_server: NatsServer, host_processes: LocalHosts, shop: Callable[..., Topology]
) -> None:
    host_processes.start("h0", "zone=a")
    url = nats_server.options("admin")
    assert nats_server.secrets is not None
    signer = Signer.from_file(nats_server.secrets.lattice().signing_key)
    assert sync.deploy("shop", url, shop(), signer=signer).version == 1
    assert until_ready("shop", url, 1).ready
    assert sync.invoke("shop", "sum3", [1, 2, 3], url) == 6
    assert [p.name for p in sync.signature("shop", "sum3", url).params] == ["a", "b", "c"]
    assert sync.deploy("shop", url, shop("lattice-math-v2"), signer=signer).version == 2
    until_ready("shop", url, 2)
    assert sync.invoke("shop", "version", [], url) == 2
    assert sync.rollback("shop", 1, url).version == 3
    until_ready("shop", url, 3)
    assert sync.invoke("shop", "version", [], url) == 1
    assert [(d.app, d.version) for d in sync.apps(url)] == [("shop", 3)]
    assert [(h.host, h.labels) for h in sync.hosts(url)] == [("h0", {"zone": "a"})]
    sync.undeploy("shop", url)
    assert sync.apps(url) == []
