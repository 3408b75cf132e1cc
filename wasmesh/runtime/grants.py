"""Grants and limits: what a component may touch and how much it may use.

Nothing is granted by default: no environment, no files, no network, no stdin. The same
vocabulary serves `wasmesh run`/`invoke` flags, the Python API and the manifest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from wasmesh.errors import WasmeshError
from wasmesh.sizes import parse_size

__all__ = ["DirGrant", "Grants", "Limits", "RunConfig", "parse_size"]

@dataclass(frozen=True)
class DirGrant:
    """A host directory visible to the guest at `guest` (read-only unless `writable`)."""

    host: Path
    guest: str
    writable: bool = True

    @classmethod
    def parse(cls, spec: str) -> DirGrant:
        """`HOST[:GUEST][:ro]` as given to `--dir`."""
        parts = spec.split(":")
        writable = True
        if len(parts) > 1 and parts[-1] in ("ro", "rw"):
            writable = parts.pop() == "rw"
        if len(parts) > 2 or not parts[0]:
            raise WasmeshError(f"--dir `{spec}` is not HOST[:GUEST][:ro]; e.g. `./data:/data:ro`.")
        host = Path(parts[0])
        if not host.is_dir():
            raise WasmeshError(f"--dir `{spec}`: {host} is not a directory on this host.")
        guest = parts[1] if len(parts) == 2 else parts[0]
        return cls(host.resolve(), guest, writable)


@dataclass(frozen=True)
class Grants:
    """Capabilities granted to one component; the default grants nothing."""

    env: tuple[tuple[str, str], ...] = ()
    env_inherit: tuple[str, ...] = ()
    dirs: tuple[DirGrant, ...] = ()
    stdin: bool = False
    network: bool = False
    outbound: tuple[str, ...] = ()

    def environment(self) -> list[tuple[str, str]]:
        """The variables the guest sees: inherited ones that exist, then explicit ones."""
        pairs = [(k, os.environ[k]) for k in self.env_inherit if k in os.environ]
        return pairs + list(self.env)

    @staticmethod
    def parse_env(spec: str) -> tuple[str, str]:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise WasmeshError(f"--env `{spec}` is not KEY=VALUE; e.g. `--env LOG=debug`.")
        return key, value


@dataclass(frozen=True)
class Limits:
    """Resource limits for one instance; None means unlimited."""

    memory_bytes: int | None = None
    timeout: float | None = None
    fuel: int | None = None

    def __post_init__(self) -> None:
        if self.timeout is not None and self.timeout <= 0:
            raise WasmeshError(f"timeout {self.timeout} must be a positive number of seconds.")
        if self.fuel is not None and self.fuel <= 0:
            raise WasmeshError(f"fuel {self.fuel} must be a positive number.")


@dataclass(frozen=True)
class RunConfig:
    """Grants, limits and the arguments a command sees."""

    grants: Grants = field(default_factory=Grants)
    limits: Limits = field(default_factory=Limits)
    argv: tuple[str, ...] = ()
