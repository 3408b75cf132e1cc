"""The lattice commands end to end: real nats-server, real host processes, the example app."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import Outcome, wasmesh_process
from tests.support.processes import spawn, stop
from wasmesh.runtime.app import App

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "polyglot"
ITEMS = '[{sku: "tea", quantity: 3, unit-cents: 450}]'


def credentials(creds: Path, role: str) -> dict[str, str]:
    """The environment giving `wasmesh` commands `role`'s credential, TLS files and key."""
    env = {
        "WASMESH_NATS_CREDS": str(creds / "default" / f"{role}.nk"),
        "WASMESH_NATS_TLS_CA": str(creds / "tls" / "ca.pem"),
        "WASMESH_NATS_TLS_CERT": str(creds / "tls" / "client.pem"),
        "WASMESH_NATS_TLS_KEY": str(creds / "tls" / "client-key.pem"),
    }
    if role == "none":
        del env["WASMESH_NATS_CREDS"]
    if role == "admin":
        env["WASMESH_SIGNING_KEY"] = str(creds / "default" / "signing.key")
    if role == "host":
        env["WASMESH_TRUST_KEY"] = str(creds / "default" / "signing.pub")
    return env


@pytest.fixture
def lattice(tmp_path: Path) -> Iterator[tuple[str, Callable[..., Outcome]]]:
    creds = tmp_path / "creds"
    procs = [spawn("lattice", "up", "--port", "0", "--store-dir", str(tmp_path / "js"),
                   "--creds-dir", str(creds), "--tls", cwd=tmp_path)]  # fmt: skip
    try:
        assert procs[0].stdout is not None
        url = procs[0].stdout.readline().strip()
        assert url.startswith("tls://"), url
        for zone in ("a", "b"):
            procs.append(spawn("host", "--nats", url, "--label", f"zone={zone}", "--id", zone,
                               cwd=tmp_path, log=tmp_path / f"host-{zone}.log",
                               env=credentials(creds, "host")))  # fmt: skip

        def cli(*args: str, role: str = "admin") -> Outcome:
            env = {**os.environ, **credentials(creds, role)}
            return wasmesh_process(*args, "--nats", url, cwd=tmp_path, env=env)

        yield url, cli
    finally:
        for proc in reversed(procs):
            stop(proc)


def wait_ready(cli: Callable[..., Outcome], app: str, version: int, timeout: float = 90) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    report: dict = {}  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        r = cli("status", app, "--json")
        if r.code == 0:
            report = json.loads(r.out)
            if report["ready"] and report["version"] == version:
                return report
        time.sleep(0.5)
    raise AssertionError(f"{app} v{version} not ready: {report}")


@pytest.fixture(scope="module")
def example() -> Path:
    """The example built and compiled (both topologies) into its caches here, without a time
    bound, so the `wasmesh` processes below never start on a cold build within theirs."""
    for strategy in ("monolith", "per-component"):
        App.load(EXAMPLE / "wasmesh.toml", strategy=strategy).close()
    return EXAMPLE


@pytest.mark.slow
def test_deploy_invoke_rollback_undeploy(
    example: Path, lattice: tuple[str, Callable[..., Outcome]]
) -> None:
    _, cli = lattice
    fused = wasmesh_process("invoke", "--app", EXAMPLE, "quote", ITEMS, '"fr"')
    assert fused.code == 0, fused.err

    r = cli("status", role="none")
    assert r.code == 2 and "needs a credential" in r.err, r.err
    r = cli("deploy", str(EXAMPLE), "--topology", "per-component", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["version"] == 1
    report = wait_ready(cli, "shop", 1)
    assert set(report["units"]) == {"front", "tax", "presentation", "receipt"}
    r = cli("deploy", str(EXAMPLE), "--topology", "per-component", role="host")
    assert r.code == 2 and "is not an admin credential of lattice default" in r.err, r.err
    split = cli("invoke", "--app", "shop", "quote", ITEMS, '"fr"', role="client")
    assert (split.code, split.out) == (0, fused.out), split.err

    r = cli("deploy", str(EXAMPLE), "--topology", "monolith", "--replicas", "2", "--spread", "zone",
            "--wait", "90")  # fmt: skip
    assert r.code == 0, r.err
    assert "shop version 2 is ready" in r.out, r.out
    report = wait_ready(cli, "shop", 2, timeout=1)  # --wait returned once it was
    assert sorted(report["units"]["main"]["running"]) == ["a", "b"]
    assert cli("invoke", "--app", "shop", "quote", ITEMS, '"fr"').out == fused.out

    assert cli("rollback", "shop").code == 0
    report = wait_ready(cli, "shop", 3)
    assert report["rolled_back_to"] == 1 and "front" in report["units"]
    assert cli("rollback", "shop").code == 0  # undoes the rollback: forward to version 2
    report = wait_ready(cli, "shop", 4)
    assert report["rolled_back_to"] == 2 and set(report["units"]) == {"main"}
    versions = [(h["version"], h["rolled_back_to"]) for h in report["history"]]
    assert versions == [(1, None), (2, None), (3, 1), (4, 2)]
    assert report["app_version"] == "0.1.0"  # the manifest's, beside the lattice's revision
    shown = cli("status", "shop")
    assert "shop v4 (app version 0.1.0) ready" in shown.out, shown.out
    assert "versions: 1 [0.1.0], 2 [0.1.0], 3 [0.1.0] (= 1), 4 [0.1.0] (= 2)" in shown.out

    overview = json.loads(cli("status", "--json").out)
    assert {h["host"] for h in overview["hosts"]} == {"a", "b"}

    assert cli("undeploy", "shop").code == 0
    gone = cli("invoke", "--app", "shop", "quote", ITEMS, '"fr"')
    assert gone.code == 2 and "not deployed" in gone.err


def test_lattice_errors(tmp_path: Path) -> None:
    r = wasmesh_process("deploy", str(EXAMPLE), "--nats", "nats://127.0.0.1:1", "--label", "x")
    assert r.code == 2 and "KEY=VALUE" in r.err
    r = wasmesh_process("deploy", str(EXAMPLE), "--nats", "nats://127.0.0.1:1", "--wait", "nan")
    assert r.code == 2 and "--wait must be a number of seconds above 0, not nan." in r.err, r.err
    r = wasmesh_process("invoke", "--nats", "nats://127.0.0.1:1", "quote")
    assert r.code == 2
    assert "Traceback" not in r.err
    r = wasmesh_process("status", "--nats", "nats://127.0.0.1:1", timeout=60)
    assert r.code == 2 and "Traceback" not in r.err, r.err


def test_lattice_up_refuses_an_unusable_store_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for store in ("/proc/nope", str(blocker / "js")):
        r = wasmesh_process(
            "lattice", "up", "--port", "0", "--store-dir", store, timeout=60, cwd=tmp_path
        )
        assert r.code == 2 and "Traceback" not in r.err, r.err
        assert f"cannot keep the JetStream store in {store}" in r.err and "--store-dir" in r.err
