"""The Python WASI layer behaves as native WASI does for every grant, and serves network."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wasmesh.capabilities.base import Capability, Setup
from wasmesh.capabilities.defaults import default_wasi
from wasmesh.capabilities.wasi_python import WasiPython
from wasmesh.capabilities.wasip2 import WasiP2
from wasmesh.engine.loader import LoadedComponent, load_component
from wasmesh.engine.values import Ok
from wasmesh.errors import GuestExit
from wasmesh.policy import DirGrant, Grants, Policy
from wasmesh.runtime.command import run_command
from wasmesh.runtime.exports import ExportTarget
from wasmesh.runtime.instance import Runner

Guest = Callable[[str], Path]


def _layer(name: str, loaded: LoadedComponent, argv: tuple[str, ...]) -> Capability:
    return WasiPython(loaded, argv, "cmd") if name == "python" else WasiP2(argv, "cmd")


def command(loaded: LoadedComponent, layer: str, grants: Grants, *argv: str) -> int:
    """Run the command on the given WASI layer; its exit status."""
    runner = Runner(loaded, Policy(grants), argv=argv, capabilities=(_layer(layer, loaded, argv),))
    export = next(e for e in loaded.world.exports if e.name.startswith("wasi:cli/run@"))
    run = export.func("run")  # type: ignore[union-attr]
    assert run is not None
    try:
        result = runner.instantiate().call(ExportTarget(export.name, run), ())
    except GuestExit as e:
        return e.status
    return 0 if isinstance(result, Ok) else 1


@pytest.fixture(scope="module")
def cmd(guest: Guest) -> LoadedComponent:
    return load_component(guest("cmd-c"))


@pytest.fixture(params=["native", "python"])
def layer(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_arguments_and_exit_status(
    cmd: LoadedComponent, layer: str, capfd: pytest.CaptureFixture[str]
) -> None:
    assert command(cmd, layer, Grants(), "args", "a b", "-x") == 0
    assert capfd.readouterr().out == "a b\n-x\n"
    assert command(cmd, layer, Grants(), "exit", "0") == 0
    assert command(cmd, layer, Grants(), "exit", "7") == 1  # success/failure only


def test_env_denied_then_granted(
    cmd: LoadedComponent, layer: str, capfd: pytest.CaptureFixture[str]
) -> None:
    assert command(cmd, layer, Grants(), "env", "HOME") == 1
    assert "HOME is not set" in capfd.readouterr().err
    assert command(cmd, layer, Grants(env=(("GREETING", "hi"),)), "env", "GREETING") == 0
    assert capfd.readouterr().out == "hi\n"


def test_files_denied_read_only_and_writable(
    cmd: LoadedComponent, layer: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f.txt").write_text("secret")
    assert command(cmd, layer, Grants(), "read", "/data/f.txt") == 1
    assert "cannot open" in capfd.readouterr().err
    ro = Grants(dirs=(DirGrant(tmp_path, "/data", writable=False),))
    assert command(cmd, layer, ro, "read", "/data/f.txt") == 0
    assert capfd.readouterr().out == "secret"
    assert command(cmd, layer, ro, "write", "/data/g", "x") == 1
    assert not (tmp_path / "g").exists()
    rw = Grants(dirs=(DirGrant(tmp_path, "/data"),))
    assert command(cmd, layer, rw, "write", "/data/sub", "x") == 0
    assert (tmp_path / "sub").read_text() == "x"
    assert command(cmd, layer, rw, "write", "/data/sub", "longer") == 0  # truncates
    assert (tmp_path / "sub").read_text() == "longer"


def test_paths_cannot_escape_the_grant(
    cmd: LoadedComponent, layer: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "outside.txt").write_text("outside")
    (data / "link").symlink_to(tmp_path / "outside.txt")
    (data / "rel").symlink_to("../outside.txt")
    grants = Grants(dirs=(DirGrant(data, "/data", writable=False),))
    for path in ("/data/../../etc/passwd", "/data/../outside.txt", "/data/link", "/data/rel"):
        assert command(cmd, layer, grants, "read", path) == 1, path
        out = capfd.readouterr()
        assert "outside" not in out.out and "root:" not in out.out


def test_symlinks_inside_the_grant_are_followed(
    cmd: LoadedComponent, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.txt").write_text("inside")
    (tmp_path / "alias").symlink_to("sub")
    grants = Grants(dirs=(DirGrant(tmp_path, "/data", writable=False),))
    assert command(cmd, "python", grants, "read", "/data/alias/../sub/./f.txt") == 0
    assert capfd.readouterr().out == "inside"


@pytest.fixture
def stdin_text() -> Iterator[None]:
    """File descriptor 0 reads "typed" then its end, for the duration of a test."""
    read, write = os.pipe()
    os.write(write, b"typed")
    os.close(write)
    saved = os.dup(0)
    os.dup2(read, 0)
    os.close(read)
    try:
        yield
    finally:
        os.dup2(saved, 0)
        os.close(saved)


@pytest.mark.usefixtures("stdin_text")
def test_stdin_only_when_granted(cmd: LoadedComponent, capfd: pytest.CaptureFixture[str]) -> None:
    assert command(cmd, "python", Grants(), "stdin") == 0
    assert capfd.readouterr().out == ""
    assert command(cmd, "python", Grants(stdin=True), "stdin") == 0
    assert capfd.readouterr().out == "typed"


def test_network_denied_without_the_grant(
    cmd: LoadedComponent, layer: str, pong_server: int, capfd: pytest.CaptureFixture[str]
) -> None:
    assert command(cmd, layer, Grants(), "connect", "127.0.0.1", str(pong_server)) == 1
    assert "access-denied" in capfd.readouterr().err


def test_network_granted_through_run_command(
    cmd: LoadedComponent, pong_server: int, capfd: pytest.CaptureFixture[str]
) -> None:
    argv = ("connect", "127.0.0.1", str(pong_server))
    assert run_command(cmd, Policy(Grants(network=True)), argv) == 0
    assert capfd.readouterr().out == "pong\n"


def test_python_command_with_network_granted(
    guest: Guest, capfd: pytest.CaptureFixture[str]
) -> None:
    loaded = load_component(guest("cmd-py"))
    grants = Grants(network=True, env=(("GREETING", "hello"),))
    assert run_command(loaded, Policy(grants), ("x", "y")) == 0
    assert capfd.readouterr().out == "args: x y\nGREETING: hello\n"
    assert run_command(loaded, Policy(Grants(network=True)), ("fail",)) == 1


def test_default_layer(cmd: LoadedComponent, guest: Guest) -> None:
    assert isinstance(default_wasi(Setup(cmd)), WasiP2)
    assert isinstance(default_wasi(Setup(cmd, Policy(Grants(network=True)))), WasiPython)
    http = load_component(guest("http-echo-py"))
    assert isinstance(default_wasi(Setup(http)), WasiPython)


def test_instances_release_what_they_held(
    cmd: LoadedComponent, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f.txt").write_text("x")
    grants = Grants(dirs=(DirGrant(tmp_path, "/data"),))
    argv = ("read", "/data/f.txt")
    wasi = WasiPython(cmd, argv, "cmd")
    runner = Runner(cmd, Policy(grants), argv=argv, capabilities=(wasi,))
    export = next(e for e in cmd.world.exports if e.name.startswith("wasi:cli/run@"))
    target = ExportTarget(export.name, export.func("run"))  # type: ignore[union-attr,arg-type]
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(30):
        # Each run opens its preopen and stdio; the instance is then discarded.
        assert runner.instantiate().call(target, ()) == Ok(None)
    assert capfd.readouterr().out == "x" * 30
    assert len(os.listdir("/proc/self/fd")) <= before + 2
    assert wasi.link_ is not None
    assert all(len(table) < 10 for table in wasi.link_.resources.values())
