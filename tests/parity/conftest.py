"""The parity probe app and what serves it: one `wasmesh up` per variant and one lattice (a
real nats-server and two host processes), shared by every cell of the matrix in a module.

The app is `parity-probe-py` (a Python front: an export, a command and an HTTP handler)
composed with its C dependency `parity-dep-c`. Its three variants differ only in limits:
`grants` caps memory, `timeout` gives every call one second, `fuel` a fixed budget.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh_process
from tests.support.processes import Served, spawn, stop

GRANTED = ("GRANTED", "granted-value")
INHERITED = ("PARITY_INHERITED", "inherited-value")  # in the environment of every host process
UNGRANTED = ("PARITY_UNGRANTED", "not-granted")  # also there, but granted to no one
RECIPE = "the recipe"
CONFIG = ("greeting", "hello")  # the front's one wasi:config key
STORE = "default"  # the front's one key-value store (SQLite; JetStream KV on the lattice)
MEMORY_LIMIT = "128MiB"  # 2048 pages of 64 KiB
FUEL = 300_000_000
TIMEOUT_S = 1

# the flags `invoke`/`run` take for each variant, the manifest keys the app gives its members
LIMIT_FLAGS = {
    "grants": ("--memory-limit", MEMORY_LIMIT),
    "timeout": ("--timeout", str(TIMEOUT_S)),
    "fuel": ("--fuel", str(FUEL)),
}
LIMIT_KEYS = {
    "grants": f'memory-limit = "{MEMORY_LIMIT}"',
    "timeout": f"timeout = {TIMEOUT_S}",
    "fuel": f"fuel = {FUEL}",
}


@dataclass(frozen=True)
class ProbeApp:
    """The probe app on disk: one directory per variant, sharing one data directory."""

    root: Path
    data: Path  # granted read-only to the front as /data
    secret: Path  # a file granted to no one
    dirs: dict[str, Path]  # variant -> app directory
    unit: Path  # the composed monolith unit, run by `invoke`/`run` with flags

    @staticmethod
    def name_of(variant: str) -> str:
        """The app name of `variant` in its manifest."""
        return "parity" if variant == "grants" else f"parity-{variant}"

    def grant_flags(self) -> tuple[str, ...]:
        return (
            "--env", "=".join(GRANTED), "--env-inherit", INHERITED[0],
            "--dir", f"{self.data}:/data:ro", "--config", "=".join(CONFIG),
        )  # fmt: skip


@pytest.fixture(scope="session")
def probe_env() -> Iterator[None]:
    """The inherited and the ungranted variable, in this process and every child."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in (INHERITED, UNGRANTED):
            mp.setenv(key, value)
        yield


@pytest.fixture(scope="session")
def probe_app(
    guest: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory, probe_env: None
) -> ProbeApp:
    from wasmesh.runtime.app import App

    front, dep = guest("parity-probe-py"), guest("parity-dep-c")
    root = tmp_path_factory.mktemp("parity")
    (root / "data").mkdir()
    (root / "data" / "recipe.txt").write_text(RECIPE)
    (root / "secret.txt").write_text("not for the guest")
    dirs = {}
    for variant, limit in LIMIT_KEYS.items():
        app = root / variant
        app.mkdir()
        name = ProbeApp.name_of(variant)
        (app / "wasmesh.toml").write_text(f"""
[app]
name = "{name}"

[components.front]
source = "{front}"
env = {{ {GRANTED[0]} = "{GRANTED[1]}" }}
env-inherit = ["{INHERITED[0]}"]
dirs = ["../data:/data:ro"]
key-value-stores = ["{STORE}"]
{limit}

[components.front.config]
{CONFIG[0]} = "{CONFIG[1]}"

[components.dep]
source = "{dep}"
{limit}

[[triggers.http]]
route = "/{variant}/..."
component = "front"
""")
        dirs[variant] = app
    loaded = App.load(dirs["grants"] / "wasmesh.toml")
    try:
        unit = loaded.units["main"].loaded.path
        assert unit is not None
    finally:
        loaded.close()
    return ProbeApp(root, root / "data", root / "secret.txt", dirs, Path(unit))


@pytest.fixture(scope="module")
def up_servers(probe_app: ProbeApp) -> Iterator[dict[str, Served]]:
    """`wasmesh up` of each variant, on ephemeral ports."""
    servers: dict[str, Served] = {}
    try:
        for variant, app in probe_app.dirs.items():
            servers[variant] = Served(
                [str(BIN / "wasmesh"), "up", str(app), "--listen", "127.0.0.1:0"],
                log=probe_app.root / f"up-{variant}.log",
            )
        yield servers
    finally:
        for served in servers.values():
            served.stop()


@dataclass(frozen=True)
class Lattice:
    """A lattice running every variant on host `a`; host `b` runs nothing and forwards.
    Each variant serves its own route prefix (`/grants/...`, ...): HTTP hosts serve the
    routes of every deployed app."""

    url: str
    http: dict[str, str]  # host id -> base URL of its HTTP ingress
    creds: Path  # the lattice's client credential (invoke)


@pytest.fixture(scope="module")
def probe_lattice(probe_app: ProbeApp) -> Iterator[Lattice]:
    root = probe_app.root
    creds = root / "creds"
    nats = spawn("lattice", "up", "--port", "0", "--store-dir", str(root / "js"),
                 "--creds-dir", str(creds), cwd=root)  # fmt: skip
    keys = creds / "default"  # written before the URL is printed
    hosts: list[Served] = []
    try:
        assert nats.stdout is not None
        url = nats.stdout.readline().strip()
        assert url.startswith("nats://"), url
        for zone in ("a", "b"):
            argv = [str(BIN / "wasmesh"), "host", "--nats", url, "--label", f"zone={zone}",
                    "--id", zone, "--http", "127.0.0.1:0", "--creds", str(keys / "host.nk"),
                    "--trust", str(keys / "signing.pub")]  # fmt: skip
            hosts.append(Served(argv, log=root / f"host-{zone}.log"))
        for app in probe_app.dirs.values():
            r = wasmesh_process("deploy", app, "--nats", url, "--label", "zone=a", "--creds",
                                keys / "admin.nk", "--sign-key", keys / "signing.key",
                                cwd=root)  # fmt: skip
            assert r.code == 0, r.err
        http = {
            z: f"http://{h.address[0]}:{h.address[1]}" for z, h in zip("ab", hosts, strict=True)
        }
        for variant in probe_app.dirs:
            _wait_ready(url, probe_app.name_of(variant), root, keys / "admin.nk")
            for base in http.values():  # both ingresses know the route
                _wait_route(f"{base}/{variant}/env?{GRANTED[0]}")
        yield Lattice(url, http, keys / "client.nk")
    finally:
        for host in hosts:
            host.stop()
        stop(nats)


def _wait_ready(url: str, app: str, cwd: Path, creds: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    report: object = None
    while time.monotonic() < deadline:
        r = wasmesh_process("status", app, "--json", "--nats", url, "--creds", creds, cwd=cwd)
        if r.code == 0:
            report = json.loads(r.out)
            if isinstance(report, dict) and report.get("ready"):
                return
        time.sleep(0.3)
    raise AssertionError(f"{app} not ready: {report}")


def _wait_route(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    status = 0
    while time.monotonic() < deadline:
        status = http_get(url)[0]
        if status == 200:
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} answers {status}")


def http_get(url: str) -> tuple[int, bytes]:
    """(status, body) of a GET; error statuses are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
