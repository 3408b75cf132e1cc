"""The credentials `wasmesh lattice up` creates, and the nats-server configuration using them.

Layout under one directory (default `.wasmesh/creds`), created once and reused on later runs,
private files mode 0600:

    <lattice>/admin.nk  host.nk  client.nk     NKey user seeds, one per role
    <lattice>/signing.key  signing.pub        Ed25519 key deploys sign artifacts with
    tls/ca.pem  server.pem  server-key.pem  client.pem  client-key.pem   (with --tls)

Users are NKeys (the `nkeys` library, NATS's own Ed25519 user keys): the server holds only
public keys, each with its role's permissions (`wasmesh.lattice.permissions`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.permissions import ROLES, role_permissions
from wasmesh.lattice.schema import Subjects, check_name
from wasmesh.lattice.signing import ensure_signing_key
from wasmesh.lattice.tlsfiles import TlsFiles, ensure_tls

DEFAULT_DIR = Path(".wasmesh") / "creds"


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to a new file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def user_seed() -> bytes:
    """A new NKey user seed (`SU...`)."""
    import nkeys  # type: ignore[import-untyped]

    seed: bytes = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    return seed


@dataclass(frozen=True)
class LatticeCredentials:
    """The credential files of one lattice."""

    directory: Path  # the lattice's own directory, `<dir>/<lattice>`
    lattice: str

    def creds(self, role: str) -> Path:
        """The NKey seed file of `role` (admin, host or client)."""
        return self.directory / f"{role}.nk"

    @property
    def signing_key(self) -> Path:
        return self.directory / "signing.key"

    @property
    def trust(self) -> Path:
        """The public key hosts verify artifact signatures with."""
        return self.directory / "signing.pub"

    def public_key(self, role: str) -> str:
        key = NatsOptions(creds=self.creds(role)).public_key()
        assert key is not None
        return key

    def users(self) -> list[dict[str, Any]]:
        """nats-server `authorization.users` entries of this lattice's roles."""
        subjects = Subjects(self.lattice)
        out = []
        for role in ROLES:
            key = self.public_key(role)
            out.append({"nkey": key, "permissions": role_permissions(role, subjects, key)})
        return out


@dataclass(frozen=True)
class Secrets:
    """Every credential of a local lattice server: per lattice, and TLS when on."""

    directory: Path
    lattices: tuple[LatticeCredentials, ...]
    tls: TlsFiles | None = None

    def lattice(self, name: str = "default") -> LatticeCredentials:
        return next(c for c in self.lattices if c.lattice == name)

    def options(self, url: str, role: str, lattice: str = "default") -> NatsOptions:
        """How `role` of `lattice` connects to the server at `url`."""
        tls = self.tls
        return NatsOptions(
            url,
            self.lattice(lattice).creds(role),
            tls.ca if tls else None,
            tls.client_cert if tls else None,
            tls.client_key if tls else None,
        )

    def server_config(self) -> dict[str, Any]:
        """The authorization (and TLS) part of the nats-server configuration."""
        users = [u for c in self.lattices for u in c.users()]
        config: dict[str, Any] = {"authorization": {"users": users}}
        if self.tls is not None:
            config["tls"] = {
                "cert_file": str(self.tls.server_cert),
                "key_file": str(self.tls.server_key),
                "ca_file": str(self.tls.ca),
                "verify": True,  # clients present a certificate from the same CA
                "timeout": 5,
            }
        return config


def ensure_secrets(
    directory: Path | str = DEFAULT_DIR,
    lattices: Sequence[str] = ("default",),
    tls_hosts: Sequence[str] | None = None,
) -> Secrets:
    """Create whatever credentials are missing under `directory` (existing ones are kept, so
    hosts and clients holding them keep working); with `tls_hosts`, a local CA and a server
    certificate valid for those names and addresses."""
    root = Path(directory).resolve()
    out = []
    for name in lattices:
        check_name("lattice", name)
        creds = LatticeCredentials(root / name, name)
        for role in ROLES:
            if not creds.creds(role).exists():
                write_private(creds.creds(role), user_seed() + b"\n")
        ensure_signing_key(creds.signing_key, creds.trust)
        out.append(creds)
    tls = ensure_tls(root / "tls", tls_hosts) if tls_hosts is not None else None
    return Secrets(root, tuple(out), tls)


def write_server_config(secrets: Secrets, path: Path) -> Path:
    """The nats-server configuration file (JSON, which nats-server reads) at `path`."""
    write_private(path, json.dumps(secrets.server_config(), indent=1).encode())
    return path
