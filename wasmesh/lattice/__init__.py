"""The distributed mode: hosts, placement, cross-host calls, desired state and rolling updates.

A lattice is a NATS (JetStream) server or cluster; every host agent joins it, heartbeats and
runs the units the active scheduler places on it. Clients deploy apps (artifacts go to the
object store by digest, the desired state to KV, versioned) and call their exports.

    secrets = ensure_secrets(".wasmesh/creds")           # credentials, signing key
    server = start_server(4222, ".wasmesh/nats", secrets=secrets)      # `wasmesh lattice up`
    keys = secrets.lattice()
    run_host(server.options("host"), labels={"zone": "a"}, trust=keys.trust)   # `wasmesh host`
    deploy("shop", server.options("admin"), topology,
           signer=Signer.from_file(keys.signing_key))   # `wasmesh deploy`
    invoke("shop", "shop:pricing/quote#quote", [items, "fr"], server.options("client"))

(`ensure_secrets` is in `wasmesh.lattice.credentials`, `Signer` in `wasmesh.lattice.signing`.)
"""

from __future__ import annotations

from typing import Any

from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.errors import LatticeError, PayloadTooLarge, RemoteTrap, RemoteUnavailable
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.scheduler import FAILOVER_BOUND_S
from wasmesh.lattice.server import NatsServer, serve_forever, start_server
from wasmesh.lattice.status import AppStatus
from wasmesh.lattice.sync import (
    apps,
    deploy,
    hosts,
    invoke,
    require,
    rollback,
    signature,
    status,
    undeploy,
)
from wasmesh.lattice.topology import Topology, UnitDeployment


def __getattr__(name: str) -> Any:
    # Loaded on first use: the manifest adapter pulls in the compose layer, which host
    # processes never need, and `python -m wasmesh.lattice.agent` must not find its module
    # already imported by this package.
    if name in ("Placement", "topology_from_manifest"):
        from wasmesh.lattice import app

        return getattr(app, name)
    if name == "Host":
        from wasmesh.lattice.host import Host

        return Host
    if name == "run_host":
        from wasmesh.lattice.agent import run_host

        return run_host
    raise AttributeError(f"module 'wasmesh.lattice' has no attribute {name!r}")


__all__ = [
    "FAILOVER_BOUND_S",
    "AppStatus",
    "Host",
    "LatticeClient",
    "LatticeError",
    "LocalHosts",
    "NatsOptions",
    "NatsServer",
    "PayloadTooLarge",
    "Placement",
    "RemoteTrap",
    "RemoteUnavailable",
    "Topology",
    "UnitDeployment",
    "apps",
    "deploy",
    "hosts",
    "invoke",
    "require",
    "rollback",
    "run_host",
    "serve_forever",
    "signature",
    "start_server",
    "status",
    "topology_from_manifest",
    "undeploy",
]
