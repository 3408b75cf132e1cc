"""The control-interface schema, shared by hosts, the scheduler and clients.

Everything a lattice says lives under one prefix, `wasmesh.<lattice>`:

| what | where |
|---|---|
| heartbeats | subject `wasmesh.<lattice>.heartbeat.<host>` (a `Heartbeat`) |
| hosts' live statistics (dashboards) | `wasmesh.<lattice>.stats.<host>` (JSON, every second) |
| nudges: desired state / assignments changed | `wasmesh.<lattice>.changed` / `.assigned` |
| calls to an export interface | `wasmesh.<lattice>.rpc.<app>.<unit>.<interface>`, queue `rpc` |
| HTTP requests forwarded to a unit | `wasmesh.<lattice>.http.<app>.<unit>`, queue `http` |
| components' messages (`wasmcloud:messaging`) | `wasmesh.<lattice>.msg.<subject>` |
| durable messages (`durable = true` triggers) | stream `wasmesh_<lattice>_msg_durable` |
| host inventory | KV `wasmesh_<lattice>_hosts`, key `<host>` (the last `Heartbeat`) |
| desired state | KV `wasmesh_<lattice>_apps`, key `<app>` (a `DesiredState`) |
| desired state history | KV `wasmesh_<lattice>_history`, key `<app>.<version>` |
| placements | KV `wasmesh_<lattice>_placements`, keys `app.<app>` and `host.<host>` |
| status | KV `wasmesh_<lattice>_status`, keys `<app>` (scheduler) and `<app>.host.<host>` |
| scheduler lease; app index | KV `wasmesh_<lattice>_scheduler`, keys `lease`; `apps` |
| artifacts | object store `wasmesh_<lattice>_artifacts`, name = sha256 hex digest |

Every JSON document carries `"schema": SCHEMA_VERSION`; a reader refuses a newer major one.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from wasmesh.lattice.errors import LatticeError
from wasmesh.policy import Policy

SCHEMA_VERSION = 2  # 2: units carry their policy
RPC_QUEUE = "rpc"
HTTP_QUEUE = "http"

# Header names on RPC messages.
H_FUNC = "wasmesh-func"
H_CODEC = "wasmesh-codec"
H_STATUS = "wasmesh-status"  # on replies: "ok", "trap" or "error"
H_DEADLINE = "wasmesh-deadline"  # seconds the caller waits for the reply

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def check_name(kind: str, name: str) -> str:
    """Lattice, app, unit and host names become subject tokens and KV keys."""
    if not _NAME.match(name):
        raise LatticeError(
            f"{kind} name {name!r} is not valid; use letters, digits, '-' and '_' only."
        )
    return name


def subject_token(name: str) -> str:
    """An interface name as one subject token ('.', '*', '>' and ' ' are not allowed there)."""
    out = name.replace("%", "%25").replace(".", "%2E").replace("*", "%2A").replace(">", "%3E")
    return out.replace(" ", "%20") or "%root"


@dataclass(frozen=True)
class Subjects:
    """Subject and bucket names of one lattice."""

    lattice: str = "default"

    def __post_init__(self) -> None:
        check_name("lattice", self.lattice)

    @property
    def prefix(self) -> str:
        return f"wasmesh.{self.lattice}"

    def heartbeat(self, host: str = "*") -> str:
        return f"{self.prefix}.heartbeat.{host}"

    def stats(self, host: str = "*") -> str:
        """A host's live statistics (`wasmesh.observe.dashboard.stats`), every second."""
        return f"{self.prefix}.stats.{host}"

    @property
    def changed(self) -> str:
        """Clients nudge the scheduler here after changing desired state (it also polls)."""
        return f"{self.prefix}.changed"

    @property
    def assigned(self) -> str:
        """The scheduler nudges hosts here after changing assignments (they also poll)."""
        return f"{self.prefix}.assigned"

    def rpc(self, app: str, unit: str, interface: str) -> str:
        return f"{self.prefix}.rpc.{app}.{unit}.{subject_token(interface)}"

    def http(self, app: str, unit: str) -> str:
        """HTTP requests for routes `unit` of `app` serves, forwarded by any host."""
        return f"{self.prefix}.http.{app}.{unit}"

    @property
    def messages(self) -> str:
        """The prefix of components' message subjects (`wasmcloud:messaging`)."""
        return f"{self.prefix}.msg"

    def bucket(self, what: str) -> str:
        return f"wasmesh_{self.lattice}_{what}"

    @property
    def hosts(self) -> str:
        return self.bucket("hosts")

    @property
    def apps(self) -> str:
        return self.bucket("apps")

    @property
    def history(self) -> str:
        return self.bucket("history")

    @property
    def placements(self) -> str:
        return self.bucket("placements")

    @property
    def status(self) -> str:
        return self.bucket("status")

    @property
    def scheduler(self) -> str:
        return self.bucket("scheduler")

    @property
    def artifacts(self) -> str:
        return self.bucket("artifacts")

    @property
    def key_value(self) -> str:
        """The bucket holding the apps' key-value stores (`wasi:keyvalue`), one key prefix
        per app and store."""
        return self.bucket("kv")


@dataclass(frozen=True)
class UnitSpec:
    """One deployment unit of an app as the lattice runs it."""

    name: str
    digest: str  # sha256 hex of the component artifact
    size: int = 0
    exports: dict[str, list[str]] = field(default_factory=dict)  # interface -> functions
    imports: dict[str, str] = field(default_factory=dict)  # interface -> providing unit
    replicas: int = 1
    labels: dict[str, str] = field(default_factory=dict)  # required host labels
    spread: str | None = None  # spread replicas across the values of this host label
    # replicas instantiated when placed (None: all); the others wait for their first call
    min_replicas: int | None = None
    # set per host by the scheduler: whether this replica is one of the `min_replicas`
    warm: bool = True
    # imported interface -> the provider's export serving it, where the names differ
    # (a semver-compatible version)
    import_exports: dict[str, str] = field(default_factory=dict)
    # the HTTP trigger's part: {"routes": [patterns]} when the unit serves routes; else empty
    http: dict[str, Any] = field(default_factory=dict)
    # the grants and limits the unit runs under (`wasmesh.policy.Policy.to_json`)
    policy: dict[str, Any] = field(default_factory=dict)
    # the messaging trigger's part: one {"subject", "component", "queue", "durable",
    # "max_deliver"} per [[triggers.messaging]] of the unit's components
    messaging: list[dict[str, Any]] = field(default_factory=list)

    def unit_policy(self) -> Policy:
        """The unit's policy; `PolicyError` when it names what this host cannot enforce."""
        return Policy.from_json(self.policy) if self.policy else Policy()

    def target(self, interface: str) -> tuple[str, str]:
        """(unit, export interface) serving this unit's import `interface`."""
        return self.imports[interface], self.import_exports.get(interface, interface)


@dataclass(frozen=True)
class DesiredState:
    """What should run for one app; `version` grows by one with every deploy or rollback."""

    app: str
    version: int
    units: tuple[UnitSpec, ...]
    source_version: int | None = None  # set by a rollback: the version whose units these are
    routes: dict[str, str] = field(default_factory=dict)  # HTTP route pattern -> unit serving it
    app_version: str = ""  # the manifest's `[app] version` of these units ("" when unknown)


@dataclass(frozen=True)
class AppIndex:
    """Every app the lattice knows: its latest version, and whether it is deployed.

    One key read instead of listing buckets: listing makes JetStream create a consumer, and
    polling that way piles them up.
    """

    latest: dict[str, int] = field(default_factory=dict)
    deployed: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunningUnit:
    """What a host runs, as its heartbeat reports it."""

    app: str
    unit: str
    digest: str
    state: str  # "running" | "starting" | "failed"


@dataclass(frozen=True)
class Heartbeat:
    """A host's inventory, sent every heartbeat interval."""

    host: str
    labels: dict[str, str]
    capacity: int  # how many more units it accepts
    units: tuple[RunningUnit, ...] = ()
    seq: int = 0
    leaving: bool = False  # the host is stopping: place its units elsewhere now
    admin: str = ""  # its admin listener (`/metrics`, `/healthz`, `/readyz`), when it has one


@dataclass(frozen=True)
class Placement:
    """Which hosts run each unit of an app, for one version of its desired state."""

    app: str
    version: int
    units: dict[str, list[str]]  # unit -> hosts
    reasons: dict[str, str] = field(default_factory=dict)  # unit -> why it is short of replicas
    # the version whose units serve calls: `version` once all its units run; until then the
    # earlier one that ran (0: none yet)
    live: int = 0


@dataclass(frozen=True)
class HostAssignment:
    """The units one host must run: app -> unit specs."""

    host: str
    apps: dict[str, tuple[UnitSpec, ...]]


@dataclass(frozen=True)
class UnitStatus:
    """How one unit fares on one host."""

    unit: str
    digest: str
    state: str  # "running" | "starting" | "failed" | "stopped"
    error: str = ""


@dataclass(frozen=True)
class HostAppStatus:
    """What one host reports about one app."""

    app: str
    host: str
    units: tuple[UnitStatus, ...]


T = TypeVar("T")

_NESTED: dict[tuple[str, str], type] = {
    ("DesiredState", "units"): UnitSpec,
    ("Heartbeat", "units"): RunningUnit,
    ("HostAppStatus", "units"): UnitStatus,
}


def dumps(doc: Any) -> bytes:
    """A schema dataclass as versioned JSON bytes."""
    body = asdict(doc)
    body["schema"] = SCHEMA_VERSION
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def loads(cls: type[T], data: bytes | None) -> T:
    """Versioned JSON bytes back into a schema dataclass `cls`."""
    if not data:
        raise LatticeError(f"an empty {cls.__name__} document was found in the lattice.")
    body = json.loads(data)
    version = body.pop("schema", None)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise LatticeError(
            f"a {cls.__name__} document has schema {version!r}, newer than this wasmesh "
            f"understands ({SCHEMA_VERSION}); upgrade wasmesh on this machine."
        )
    return _build(cls, body)


def _build(cls: type[T], body: dict[str, Any]) -> T:
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {k: v for k, v in body.items() if k in known}
    for (owner, name), inner in _NESTED.items():
        if owner == cls.__name__ and name in kwargs:
            kwargs[name] = tuple(_build(inner, item) for item in kwargs[name])
    if cls is AppIndex:
        kwargs["deployed"] = tuple(kwargs.get("deployed", ()))
    if cls is HostAssignment:
        kwargs["apps"] = {
            app: tuple(_build(UnitSpec, u) for u in units) for app, units in kwargs["apps"].items()
        }
    return cls(**kwargs)
