"""What a component may use (`Grants`) and how much (`Limits`): one `Policy` for every path.

Nothing is granted by default: no environment, no files, no network, no stdin, no outbound
HTTP. The manifest (`[components.NAME]` keys), the `run`/`invoke` flags and the Python API
(`wasmesh.load(..., grants=, limits=)`) all produce these types; the runner enforces them
through the capabilities (`wasmesh.capabilities`); the lattice carries a unit's `Policy` whole
in its desired state (`Policy.to_json`, versioned by `POLICY_SCHEMA`), so a host runs the unit
with exactly the grants and limits of its manifest.

A later grant kind (key-value stores, config keys, messaging subjects) is one field here plus
the capability that enforces it. This module imports nothing of wasmesh but its errors and
sizes, so every layer may depend on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from wasmesh.errors import WasmeshError
from wasmesh.sizes import parse_size

__all__ = [
    "POLICY_SCHEMA", "ConfigValue", "DirGrant", "Grants", "Limits", "Policy", "PolicyError",
    "StoreGrant", "parse_size",
]  # fmt: skip

POLICY_SCHEMA = 2  # bump when a field is added: an older host then refuses the unit
SECRET_MASK = "********"  # what is shown instead of a secret config value


class PolicyError(WasmeshError):
    """A grant or limit that cannot be read (bad flag, bad document in the lattice)."""


@dataclass(frozen=True)
class DirGrant:
    """A host directory visible to the guest at `guest` (read-only unless `writable`)."""

    host: Path
    guest: str
    writable: bool = True

    @classmethod
    def parse(cls, spec: str) -> DirGrant:
        """`HOST[:GUEST][:ro]` as given to `--dir`; the host directory must exist."""
        parts = spec.split(":")
        writable = True
        if len(parts) > 1 and parts[-1] in ("ro", "rw"):
            writable = parts.pop() == "rw"
        if len(parts) > 2 or not parts[0]:
            raise PolicyError(f"--dir `{spec}` is not HOST[:GUEST][:ro]; e.g. `./data:/data:ro`.")
        host = Path(parts[0])
        if not host.is_dir():
            raise PolicyError(f"--dir `{spec}`: {host} is not a directory on this host.")
        guest = parts[1] if len(parts) == 2 else parts[0]
        return cls(host.resolve(), guest, writable)


@dataclass(frozen=True)
class StoreGrant:
    """A key-value store the guest may open as `name` (`wasi:keyvalue/store.open`), and
    where it lives: `backend` is "sqlite" (`location` the database file), "memory"
    (`location` scopes it: stores with the same location share data in one process) or "nats"
    (`location` is `BUCKET/PREFIX[;URL]`: without a URL, the connection of the lattice host
    running the unit, and an empty bucket is that lattice's key-value bucket).
    """

    name: str
    backend: str = "memory"
    location: str = ""


@dataclass(frozen=True)
class ConfigValue:
    """One config key a component may read through `wasi:config/store`.

    `template` is the manifest's text (`"{{ variable }}"` placeholders); `value` is the text
    once the app's variables are resolved (None until then). A `secret` value (it uses a
    secret variable) is masked by `repr`/`shown` and never written by `Policy.to_json`: the
    lattice's desired state carries its template, and each host resolves that from its own
    variables (`wasmesh.compose.variables`).
    """

    key: str
    template: str
    value: str | None = field(default=None, repr=False)
    secret: bool = False

    @classmethod
    def literal(cls, key: str, value: str, secret: bool = False) -> ConfigValue:
        """A key with a fixed value (what `--config KEY=VALUE` and the Python API grant)."""
        return cls(key, value, value, secret)

    @property
    def shown(self) -> str:
        """The value for display: masked when secret, the template when unresolved."""
        if self.secret:
            return SECRET_MASK
        return self.value if self.value is not None else self.template

    def __repr__(self) -> str:
        return f"ConfigValue({self.key!r}, {self.shown!r}, secret={self.secret})"


@dataclass(frozen=True)
class Grants:
    """What one component may use beyond pure computation; the default grants nothing.

    `env` are variables with their values; `env_inherit` names variables copied from the
    environment of the process running the instance (read when each instance is prepared);
    `dirs` are preopened directories; `outbound` are `scheme://host:port` patterns (`*`
    wildcards) for outgoing HTTP; `key_value_stores` are the stores the guest may open
    (any other name is `error::access-denied`, as Spin does); `messaging` are the NATS subject
    patterns (`*` one token, `>` the rest) the component may publish and send requests to;
    `config` are the keys `wasi:config/store` answers.
    """

    env: tuple[tuple[str, str], ...] = ()
    env_inherit: tuple[str, ...] = ()
    dirs: tuple[DirGrant, ...] = ()
    stdin: bool = False
    network: bool = False
    outbound: tuple[str, ...] = ()
    key_value_stores: tuple[StoreGrant, ...] = ()
    messaging: tuple[str, ...] = ()
    config: tuple[ConfigValue, ...] = ()

    def environment(self) -> list[tuple[str, str]]:
        """The variables the guest sees: inherited ones that exist here, then explicit ones."""
        if not self.env_inherit:
            return list(self.env)
        pairs = [(k, os.environ[k]) for k in self.env_inherit if k in os.environ]
        return pairs + list(self.env)

    @staticmethod
    def parse_env(spec: str) -> tuple[str, str]:
        """`KEY=VALUE` as given to `--env`."""
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise PolicyError(f"--env `{spec}` is not KEY=VALUE; e.g. `--env LOG=debug`.")
        return key, value


@dataclass(frozen=True)
class Limits:
    """Resource limits for one instance; None means unlimited.

    `memory_bytes` caps linear memory; `timeout` (seconds) is the deadline of each call or
    request; `fuel` is the instruction budget of each call or request (≈ wasm operations).
    """

    memory_bytes: int | None = None
    timeout: float | None = None
    fuel: int | None = None

    def __post_init__(self) -> None:
        if self.memory_bytes is not None and self.memory_bytes <= 0:
            raise PolicyError(f"memory limit {self.memory_bytes} must be a positive byte count.")
        if self.timeout is not None and self.timeout <= 0:
            raise PolicyError(f"timeout {self.timeout} must be a positive number of seconds.")
        if self.fuel is not None and self.fuel <= 0:
            raise PolicyError(f"fuel {self.fuel} must be a positive number.")


@dataclass(frozen=True)
class Policy:
    """The grants and limits one component (or one deployment unit) runs under."""

    grants: Grants = field(default_factory=Grants)
    limits: Limits = field(default_factory=Limits)

    def to_json(self) -> dict[str, Any]:
        """This policy as a JSON object carrying `"schema": POLICY_SCHEMA`."""
        g, lim = self.grants, self.limits
        return {
            "schema": POLICY_SCHEMA,
            "grants": {
                "env": [list(pair) for pair in g.env],
                "env_inherit": list(g.env_inherit),
                "dirs": [
                    {"host": str(d.host), "guest": d.guest, "writable": d.writable} for d in g.dirs
                ],
                "stdin": g.stdin,
                "network": g.network,
                "outbound": list(g.outbound),
                "key_value_stores": [
                    {"name": s.name, "backend": s.backend, "location": s.location}
                    for s in g.key_value_stores
                ],
                "messaging": list(g.messaging),
                "config": [_config_json(c) for c in g.config],
            },
            "limits": {f.name: getattr(lim, f.name) for f in fields(Limits)},
        }

    @classmethod
    def from_json(cls, body: Any) -> Policy:
        """The policy `to_json` wrote; `PolicyError` for a newer schema or an unknown field
        (an unknown grant or limit is never dropped silently: that would change what runs)."""
        if not isinstance(body, dict):
            raise PolicyError("a unit's policy in the lattice is not a JSON object.")
        version = body.get("schema")
        if not isinstance(version, int) or version > POLICY_SCHEMA:
            raise PolicyError(
                f"a unit's policy has schema {version!r}, newer than this wasmesh understands "
                f"({POLICY_SCHEMA}); upgrade wasmesh on this host."
            )
        grants = _known(body.get("grants", {}), Grants, "grant")
        limits = _known(body.get("limits", {}), Limits, "limit")
        try:
            return cls(
                Grants(
                    env=tuple((str(k), str(v)) for k, v in grants.get("env", ())),
                    env_inherit=tuple(grants.get("env_inherit", ())),
                    dirs=tuple(
                        DirGrant(Path(d["host"]), d["guest"], bool(d["writable"]))
                        for d in grants.get("dirs", ())
                    ),
                    stdin=bool(grants.get("stdin", False)),
                    network=bool(grants.get("network", False)),
                    outbound=tuple(grants.get("outbound", ())),
                    key_value_stores=tuple(
                        StoreGrant(str(s["name"]), str(s["backend"]), str(s["location"]))
                        for s in grants.get("key_value_stores", ())
                    ),
                    messaging=tuple(str(s) for s in grants.get("messaging", ())),
                    config=tuple(_config_from_json(c) for c in grants.get("config", ())),
                ),
                Limits(**limits),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PolicyError(f"a unit's policy in the lattice is malformed: {exc}.") from None


def _config_json(entry: ConfigValue) -> dict[str, Any]:
    # a secret travels as its template only: hosts resolve it from their own variables
    out: dict[str, Any] = {"key": entry.key, "secret": entry.secret}
    if entry.secret or entry.value is None:
        out["template"] = entry.template
    else:
        out["value"] = entry.value
    return out


def _config_from_json(body: Any) -> ConfigValue:
    key, secret = str(body["key"]), bool(body.get("secret", False))
    if "value" in body:
        value = str(body["value"])
        return ConfigValue(key, value, value, secret)
    return ConfigValue(key, str(body["template"]), None, secret)


def _known(body: Any, cls: type, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise PolicyError(f"a unit's policy has a malformed `{what}s` section.")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(body) - names)
    if unknown:
        raise PolicyError(
            f"a unit's policy names the {what} `{unknown[0]}`, which this wasmesh does not "
            "enforce; upgrade wasmesh on this host."
        )
    return body
