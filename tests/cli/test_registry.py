"""`wasmesh push`, `pull`, `inspect REF` and `up REF` against a real registry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.test_lattice import lattice, wait_ready
from tests.conftest import private_cache_dir
from tests.support.cli import BIN, Outcome, wasmesh
from tests.support.processes import Served
from tests.support.registry import Registry

Guest = Callable[[str], Path]
__all__ = ["lattice"]  # the fixture: a nats-server and two hosts, zones a and b


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    running = Registry.start(tmp_path_factory.mktemp("registry"))
    yield running
    running.close()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMESH_CACHE_DIR", str(private_cache_dir(tmp_path / "wasmesh-cache")))


def one_sentence(err: str) -> bool:
    return "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_push_inspect_pull_invoke(registry: Registry, guest: Guest, tmp_path: Path) -> None:
    ref = f"{registry.address}/demo/calc:1.0"
    pushed = wasmesh("push", guest("calc-c"), ref, "--json")
    assert pushed.code == 0, pushed.err
    digest = json.loads(pushed.out)["digest"]
    assert digest.startswith("sha256:")

    shown = wasmesh("inspect", ref)
    assert shown.code == 0, shown.err
    assert f"digest:    {digest}" in shown.out
    assert "  demo:calc/math@0.1.0" in shown.out.split("exports:")[1]
    as_json = json.loads(wasmesh("inspect", f"oci://{ref}", "--json").out)
    assert as_json["digest"] == digest and as_json["os"] == "wasip2"

    out = tmp_path / "calc.wasm"
    pulled = wasmesh("pull", f"{registry.address}/demo/calc@{digest}", "-o", out)
    assert pulled.code == 0, pulled.err
    assert out.read_bytes() == guest("calc-c").read_bytes()
    invoked = wasmesh("invoke", out, "add(40, 2)")
    assert (invoked.code, invoked.out) == (0, "42\n")
    for named in (ref, f"oci://{ref}"):  # straight from the registry, no file
        invoked = wasmesh("invoke", named, "add(40, 2)")
        assert (invoked.code, invoked.out) == (0, "42\n"), invoked.err


def test_errors_are_one_sentence_exit_2(registry: Registry, guest: Guest, tmp_path: Path) -> None:
    assert wasmesh("push", guest("calc-c"), f"{registry.address}/errs:1").code == 0
    text = tmp_path / "notes.wasm"
    text.write_text("not wasm")
    cases = [
        (("pull", f"{registry.address}/errs:2"), "errs:2 not found"),
        (("pull", f"{registry.address}/missing:1"), "repository missing does not exist"),
        (("pull", "127.0.0.1:9/errs:1"), "cannot reach registry 127.0.0.1:9"),
        (("pull", f"{registry.address}/errs:1", "--max-layer-size", "1KiB"), "over the 1024-byte"),
        (("push", text, f"{registry.address}/errs:3"), "not a WebAssembly file"),
        (("push", guest("calc-c"), "calc:1"), "is not a registry reference"),
        (("pull", f"{registry.address}/Errs:1"), "must be lowercase"),
        (("pull", f"{registry.address}/errs:1", "--username", "me"), "--password-stdin"),
        (("up", f"{registry.address}/errs:1"), "is a component, not a wasmesh app"),
        (("pull", f"{registry.address}/errs:1", "-o", ""), "is not a file name"),
        (("pull", f"{registry.address}/errs:1", "-o", str(tmp_path)), "is not a file name"),
        (("push", guest("calc-c"), f"{registry.address}/errs@sha256:{'0' * 64}"), "names a digest"),
    ]
    for args, message in cases:
        r = wasmesh(*args)
        assert r.code == 2, (args, r.out, r.err)
        assert message in r.err, (args, r.err)
        assert one_sentence(r.err), r.err


def write_app(directory: Path, guest: Guest) -> None:
    directory.mkdir()
    (directory / "wasmesh.toml").write_text(
        '[app]\nname = "hello-app"\nversion = "1.2.0"\n\n'
        f'[components.hello]\nsource = "{guest("http-hello-py")}"\n\n'
        f'[components.calc]\nsource = "{guest("calc-c")}"\n\n'
        '[[triggers.http]]\nroute = "/hello/..."\ncomponent = "hello"\n\n'
        '[deploy]\nstrategy = "per-component"\n'
    )


def test_push_app_then_up_from_the_registry_in_an_empty_directory(
    registry: Registry, guest: Guest, tmp_path: Path
) -> None:
    write_app(tmp_path / "src", guest)
    ref = f"{registry.address}/apps/hello:1.2.0"
    pushed = wasmesh("push", "--app", tmp_path / "src", ref)
    assert pushed.code == 0, pushed.err

    empty = tmp_path / "empty"
    empty.mkdir()
    served = Served([str(BIN / "wasmesh"), "up", ref, "--listen", "127.0.0.1:0"], cwd=empty)
    try:
        status, _, body = served.request("GET", "/hello/there")
        assert status == 200, body
        assert body
    finally:
        assert served.stop() == 0
    assert list(empty.iterdir()) == []


@pytest.mark.slow
def test_deploy_from_the_registry_on_two_hosts(
    registry: Registry, guest: Guest, tmp_path: Path, lattice: tuple[str, Callable[..., Outcome]]
) -> None:
    src = tmp_path / "calc-src"
    src.mkdir()
    (src / "wasmesh.toml").write_text(
        f'[app]\nname = "calc-app"\n\n[components.calc]\nsource = "{guest("calc-c")}"\n'
    )
    ref = f"{registry.address}/apps/calc:1"
    assert wasmesh("push", "--app", src, ref).code == 0
    shutil.rmtree(src)

    _, cli = lattice
    r = cli("deploy", ref, "--replicas", "2", "--spread", "zone", "--json")
    assert r.code == 0, r.err
    report = wait_ready(cli, "calc-app", 1)
    assert sorted(report["units"]["main"]["running"]) == ["a", "b"]
    answer = cli("invoke", "--app", "calc-app", "add", "40", "2")
    assert (answer.code, answer.out) == (0, "42\n"), answer.err
