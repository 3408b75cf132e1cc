"""Config keys on a lattice: a secret travels as its template and each host completes it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import wasmesh_process
from wasmesh.lattice import schema
from wasmesh.lattice.app import topology_from_manifest
from wasmesh.lattice.credentials import Secrets
from wasmesh.lattice.server import NatsServer, start_server

from .conftest import lattice, run

SECRET = "lattice-s3cr3t-91ab"
GET = "test:config-py/probe@0.1.0#get"

MANIFEST = """\
[app]
name = "configured"

[variables]
greeting = {{ default = "hello" }}
password = {{ required = true, secret = true }}

[components.reader]
source = "{reader}"
config = {{ greeting = "{{{{ greeting }}}} from {{{{greeting}}}}", token = "t-{{{{ password }}}}" }}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, secrets: Secrets) -> Iterator[NatsServer]:
    server = start_server(0, tmp_path_factory.mktemp("js"), secrets=secrets)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app_dir(guest: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("configured")
    (root / "wasmesh.toml").write_text(MANIFEST.format(reader=guest("config-py")))
    return root


def status_json(server: NatsServer) -> str:
    """`wasmesh status --json`, as an operator runs it."""
    options = server.options("admin")
    flags = [("--creds", options.creds), ("--tls-ca", options.tls_ca),
             ("--tls-cert", options.tls_cert), ("--tls-key", options.tls_key)]  # fmt: skip
    args = [item for flag, path in flags if path is not None for item in (flag, str(path))]
    got = wasmesh_process("status", "--nats", server.url, "--json", *args)
    assert got.code == 0, got.err
    return got.out


def test_a_host_serves_config_and_completes_secrets_itself(
    server: NatsServer,
    app_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("WASMESH_VAR_PASSWORD", SECRET)  # the deployer's and the hosts'
    caplog.set_level(logging.DEBUG)
    name, topology = topology_from_manifest(app_dir / "wasmesh.toml")
    (unit,) = topology.units
    assert SECRET not in json.dumps(unit.policy.to_json())

    async def scenario() -> None:
        async with lattice(server, tmp_path) as (client, _hosts):
            await client.deploy(name, topology)
            await client.wait_ready(name, 60)
            assert await client.invoke(name, GET, ["greeting"]) == "hello from hello"
            assert await client.invoke(name, GET, ["token"]) == f"t-{SECRET}"
            assert await client.invoke(name, GET, ["password"]) is None
            desired = await client.desired(name)
            stored = schema.dumps(desired).decode()
            assert "t-{{ password }}" in stored and SECRET not in stored
            status = await client.status(name)
            assert SECRET not in json.dumps(status.as_dict())
            shown = await asyncio.to_thread(status_json, server)
            assert name in shown and SECRET not in shown
            await client.undeploy(name)

    run(scenario(), 120)
    assert "configured" in caplog.text and SECRET not in caplog.text


def test_a_host_without_the_secret_says_which_variable_it_lacks(
    server: NatsServer, app_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WASMESH_VAR_PASSWORD", SECRET)
    name, topology = topology_from_manifest(app_dir / "wasmesh.toml")
    monkeypatch.delenv("WASMESH_VAR_PASSWORD")  # the hosts do not have it

    async def scenario() -> list[str]:
        async with lattice(server, tmp_path, {}) as (client, _hosts):
            await client.deploy(name, topology)
            try:
                for _ in range(300):  # the host reports the failure with its next heartbeat
                    errors = (await client.status(name)).errors
                    if errors:
                        return errors
                    await asyncio.sleep(0.1)
                raise AssertionError("the unit neither failed nor reported why")
            finally:
                await client.undeploy(name)

    errors = run(scenario(), 120)
    assert "config `token` needs variable `password`, which is not set on this host" in errors[0]
    assert "WASMESH_VAR_PASSWORD" in errors[0]
