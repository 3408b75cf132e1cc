"""Whether a connection's credential holds the role a command needs, asked of NATS itself.

A credential file does not say its role (an NKey seed is only a key) and clients cannot read
the server's permissions, so each check does one thing only that role may do and that changes
nothing, then flushes: nats-server answers a denied subscription or publish with a
`Permissions Violation` error ahead of the flush's PONG (docs.nats.io, "Authorization"), so
one round trip tells. A host or a deploy holding the wrong credential fails at once, with one
sentence, instead of timing out later on its first denied request.

- **host**: subscribe to the lattice's `assigned` subject (only hosts follow assignments).
- **any role of the lattice** (checked first, by every command): subscribe to
  `wasmesh.<lattice>.stats.membership-check`, inside the `stats.*` subjects every role of the
  lattice may read and no role of another lattice may; nothing is published there.
- **admin**: publish to `$O.<artifacts bucket>.role-check`, inside the admin's artifact-store
  permission but outside the object store's stream subjects (`$O.<bucket>.C.>`, `.M.>`), so
  nothing stores or receives it.

Without credentials (a server run with `--no-auth`) every check passes.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from nats.aio.client import Client as NATS

from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.schema import Subjects

FLUSH_TIMEOUT_S = 5
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # a lattice name (`wasmesh.lattice.schema`)


async def _round_trip(nc: NATS) -> None:
    """Return once the server has answered everything sent before: nats-py writes a flush's
    PING ahead of commands still buffered, so the first flush may overtake them; the second
    PING follows them on the wire, and its PONG comes after any error they caused."""
    await nc.flush(FLUSH_TIMEOUT_S)
    await nc.flush(FLUSH_TIMEOUT_S)


def is_violation(exc: BaseException | str) -> bool:
    """Whether a NATS error is the server refusing a publish or subscription."""
    return "permissions violation" in str(exc).lower()


def use_role(creds: Path | None, role: str) -> str:
    """How to pass the `role` credential: the sibling `<role>.nk` of the given credential
    when it exists (the layout `wasmesh lattice up` writes), else where to find one."""
    if creds is not None:
        sibling = Path(creds).parent / f"{role}.nk"
        if sibling.is_file():
            return f"--creds {sibling}"
    return f"--creds with the lattice's {role}.nk (`wasmesh lattice up` writes it)"


async def require_member(
    nc: NATS, subjects: Subjects, denied: list[str], creds: Path | None
) -> None:
    """A `LatticeError` unless `nc`'s credential is one of the lattice of `subjects` (any
    role), naming the lattice it belongs to and the two ways out; one round trip."""
    seen = len(denied)
    sub = await nc.subscribe(f"{subjects.prefix}.stats.membership-check")
    await _round_trip(nc)
    with contextlib.suppress(Exception):
        await sub.unsubscribe()
    if any(is_violation(d) for d in denied[seen:]):
        raise LatticeError(foreign(creds, subjects.lattice))


def foreign(creds: Path | None, lattice: str) -> str:
    """One sentence: the credential `creds` is not one of `lattice`; which lattice it belongs
    to (the directory `wasmesh lattice up` put it in) and what to pass instead."""
    given = f"the credential {creds}" if creds is not None else "this connection's credential"
    owner = Path(creds).parent.name if creds is not None else ""
    if creds is None or not _NAME.match(owner) or owner == lattice:
        return (
            f"{given} is not a credential of lattice {lattice}: it belongs to another "
            f"lattice; pass --lattice with that lattice's name, or a credential of lattice "
            f"{lattice} (`wasmesh lattice up` prints them)."
        )
    own = Path(creds).parent.parent / lattice / Path(creds).name
    instead = f"--creds {own}" if own.is_file() else f"a credential of lattice {lattice}"
    return (
        f"{given} is not a credential of lattice {lattice}: it belongs to lattice {owner}; "
        f"pass --lattice {owner}, or lattice {lattice}'s own file ({instead})."
    )


async def require_role(
    nc: NATS, subjects: Subjects, role: str, denied: list[str], creds: Path | None, action: str
) -> None:
    """Check that `nc`'s credential acts as `role` ("host" or "admin") in the lattice of
    `subjects`; `denied` is the list the connection's error callback appends permission
    violations to. A `LatticeError` naming `creds`, what it may not do (`action`) and the
    credential to use otherwise."""
    seen = len(denied)
    if role == "host":
        sub = await nc.subscribe(subjects.assigned)
        await _round_trip(nc)
        if not any(is_violation(d) for d in denied[seen:]):
            await sub.unsubscribe()
            return
    elif role == "admin":
        await nc.publish(f"$O.{subjects.artifacts}.role-check", b"")
        await _round_trip(nc)
        if not any(is_violation(d) for d in denied[seen:]):
            return
    else:
        raise ValueError(f"no role check for {role!r}")
    given = f"the credential {creds}" if creds is not None else "this connection"
    raise LatticeError(
        f"{given} is not {'an' if role == 'admin' else 'a'} {role} credential of lattice "
        f"{subjects.lattice}, so it cannot {action}; pass {use_role(creds, role)}."
    )
