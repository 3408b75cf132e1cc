"""What each role may publish and subscribe to in one lattice, as NATS permissions.

Three roles per lattice (names from `wasmesh.lattice.schema.Subjects`, `L` = the lattice):

- **admin** deploys, rolls back and undeploys: writes the apps and history buckets and the
  artifact store, nudges `wasmesh.L.changed`, calls units. It does not serve. (Every role
  reads status: it only reads buckets each may read.)
- **host** heartbeats, follows its assignment and (as the scheduler) writes placements, status
  and the lease; reads desired state and artifacts; serves and calls `wasmesh.L.rpc.>` and
  `wasmesh.L.http.>` and answers requests; carries its components' messages on
  `wasmesh.L.msg.>` and consumes the durable ones (stream `wasmesh_L_msg_durable`, created by
  the admin at deploy). It cannot write desired state or artifacts, create or delete buckets
  or streams, or touch another lattice.
- **client** calls units (`wasmesh.L.rpc.>`) and reads desired state and artifacts (to learn
  signatures). It cannot serve unit subjects, heartbeat or write any bucket.

The apps' key-value stores live in one more bucket, `wasmesh_L_kv` (keys prefixed by app and
store): hosts read and write it (its stream's API subjects and `$KV.wasmesh_L_kv.>`), the admin
creates it with the others, clients have no access to it at all.

JetStream is reached through `$JS.API.<op>[.<op>].<stream>[...]` subjects, so access is granted
per stream (`KV_<bucket>`, `OBJ_<bucket>`): a role holds no JetStream subject of another
lattice. Writes to a KV bucket or the object store are publishes to `$KV.<bucket>.>` /
`$O.<bucket>.>`. Each role reads replies only under its own inbox prefix,
`_INBOX.<its public key>` (see `wasmesh.lattice.connection`). The shapes are nats-server's
`permissions` blocks (docs.nats.io, "Authorization").
"""

from __future__ import annotations

from typing import Any

from wasmesh.capabilities.messaging.nats import stream_name
from wasmesh.lattice.schema import Subjects
from wasmesh.lattice.store import HISTORY

ROLES = ("admin", "host", "client")

# Bucket changes (create, update, delete, purge) belong to the admin.
_MANAGE = [f"$JS.API.STREAM.{op}.>" for op in ("CREATE", "UPDATE", "DELETE", "PURGE")]
_MANAGE += ["$JS.API.STREAM.MSG.DELETE.>"]

Permissions = dict[str, Any]


def streams(subjects: Subjects) -> list[str]:
    """The JetStream stream names of the lattice's buckets."""
    return [f"KV_{subjects.bucket(what)}" for what in HISTORY] + [
        f"OBJ_{subjects.artifacts}",
        stream_name(subjects.messages),
    ]


def _js_read(subjects: Subjects, *extra: str) -> list[str]:
    """JetStream API subjects naming one of the lattice's streams (and `extra` ones), in any
    position an API verb of one or two tokens leaves it, plus flow control and acks of its
    consumers."""
    # nats-py finds an object store's stream by subject before it reads an object; that
    # lists stream names (names only) of the whole account
    out: list[str] = ["$JS.API.STREAM.NAMES"]
    for stream in [*streams(subjects), *extra]:
        out += [f"$JS.API.*.*.{stream}", f"$JS.API.*.*.{stream}.>"]
        out += [f"$JS.API.*.*.*.{stream}", f"$JS.API.*.*.*.{stream}.>"]
        out += [f"$JS.FC.{stream}.>", f"$JS.ACK.{stream}.>"]
    return out


def _kv_write(subjects: Subjects, *buckets: str) -> list[str]:
    return [f"$KV.{subjects.bucket(what)}.>" for what in buckets]


def role_permissions(role: str, subjects: Subjects, public_key: str) -> Permissions:
    """The nats-server `permissions` of `role` in the lattice of `subjects`, for the user
    whose NKey is `public_key` (its reply inbox prefix)."""
    p = subjects.prefix
    inbox = f"_INBOX.{public_key}.>"
    data = f"KV_{subjects.key_value}"  # the apps' key-value stores
    if role == "admin":
        return {
            "publish": {"allow": [
                f"{p}.changed", f"{p}.rpc.>", f"{p}.http.>", "$JS.API.INFO",
                *_js_read(subjects, data), *_kv_write(subjects, *HISTORY),
                f"$O.{subjects.artifacts}.>",
            ]},
            "subscribe": {"allow": [inbox, f"{p}.stats.*"]},
        }  # fmt: skip
    if role == "host":
        return {
            "publish": {
                "allow": [
                    f"{p}.heartbeat.*", f"{p}.assigned", f"{p}.rpc.>", f"{p}.http.>",
                    f"{p}.stats.*", f"{subjects.messages}.>", *_js_read(subjects, data),
                    *_kv_write(subjects, "hosts", "placements", "status", "scheduler"),
                    f"$KV.{subjects.key_value}.>",
                ],
                "deny": _MANAGE,
            },
            "subscribe": {"allow": [
                f"{p}.heartbeat.*", f"{p}.changed", f"{p}.assigned", f"{p}.rpc.>",
                f"{p}.http.>", f"{subjects.messages}.>", inbox, f"{p}.stats.*",
            ]},
            "allow_responses": True,  # answer the calls and forwarded requests it serves
        }  # fmt: skip
    if role == "client":
        return {
            "publish": {"allow": [f"{p}.rpc.>", *_js_read(subjects)], "deny": _MANAGE},
            "subscribe": {"allow": [inbox, f"{p}.stats.*"]},
        }
    raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
