"""Credentials: from the Docker config, or `--username` with `--password-stdin`."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import wasmesh
from tests.support.registry import Registry

Guest = Callable[[str], Path]


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    running = Registry.start(tmp_path_factory.mktemp("locked"), users={"ann": "s3cret"})
    yield running
    running.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory: no Docker config unless the test writes one."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def test_without_credentials_access_is_denied(locked: Registry, guest: Guest, home: Path) -> None:
    r = wasmesh("push", guest("calc-c"), f"{locked.address}/calc:1")
    assert r.code == 2
    assert f"registry {locked.address} denied access" in r.err and "--password-stdin" in r.err


def test_credentials_from_the_docker_config(locked: Registry, guest: Guest, home: Path) -> None:
    token = base64.b64encode(b"ann:s3cret").decode()
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(
        json.dumps({"auths": {locked.address: {"auth": token}}})
    )
    ref = f"{locked.address}/calc:docker-config"
    assert wasmesh("push", guest("calc-c"), ref).code == 0
    r = wasmesh("inspect", ref, "--json")
    assert r.code == 0, r.err
    assert "demo:calc/math@0.1.0" in json.loads(r.out)["exports"]


def test_credentials_from_stdin(
    locked: Registry, guest: Guest, home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ref = f"{locked.address}/calc:stdin"
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    pushed = wasmesh("push", guest("calc-c"), ref, "--username", "ann", "--password-stdin")
    assert pushed.code == 0, pushed.err

    monkeypatch.setattr("sys.stdin", io.StringIO("wrong\n"))
    out = tmp_path / "calc.wasm"
    denied = wasmesh("pull", ref, "-o", out, "--username", "ann", "--password-stdin")
    assert denied.code == 2 and "denied access" in denied.err
    assert not out.exists()
