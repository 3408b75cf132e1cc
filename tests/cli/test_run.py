"""`wasmesh run`: command components, deny-by-default grants, limits, exit status."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import wasmesh_process

Guest = Callable[[str], Path]


def run(
    guest: Guest, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> tuple[int, str, str]:
    r = wasmesh_process("run", guest("cmd-c"), *args, env=env, input=input)
    return r.code, r.out, r.err


def test_arguments_reach_the_command(guest: Guest) -> None:
    code, out, _ = run(guest, "--", "args", "a b", "-x")
    assert (code, out) == (0, "a b\n-x\n")


def test_env_denied_then_granted(guest: Guest) -> None:
    assert run(guest, "--", "env", "HOME")[0] == 1  # the host's HOME is not visible
    code, out, _ = run(guest, "--env", "GREETING=hi", "--", "env", "GREETING")
    assert (code, out) == (0, "hi\n")
    env = {**os.environ, "WASMESH_T": "inherited"}
    code, out, _ = run(guest, "--env-inherit", "WASMESH_T", "--", "env", "WASMESH_T", env=env)
    assert (code, out) == (0, "inherited\n")


def test_files_denied_then_granted_read_only(guest: Guest, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("secret")
    code, _, err = run(guest, "--", "read", "/data/f.txt")
    assert code == 1 and "cannot open" in err
    code, out, _ = run(guest, "--dir", f"{tmp_path}:/data:ro", "--", "read", "/data/f.txt")
    assert (code, out) == (0, "secret")
    code, _, err = run(guest, "--dir", f"{tmp_path}:/data:ro", "--", "write", "/data/g", "x")
    assert code == 1 and not (tmp_path / "g").exists()
    code, _, _ = run(guest, "--dir", f"{tmp_path}:/data", "--", "write", "/data/g", "x")
    assert code == 0 and (tmp_path / "g").read_text() == "x"


def test_stdin_denied_then_granted(guest: Guest) -> None:
    code, out, _ = run(guest, "--", "stdin", input="typed")
    assert (code, out) == (0, "")
    code, out, _ = run(guest, "--stdin", "--", "stdin", input="typed")
    assert (code, out) == (0, "typed")


def test_network_denied_then_granted(guest: Guest, pong_server: int) -> None:
    code, _, _ = run(guest, "--", "connect", "127.0.0.1", str(pong_server))
    assert code == 1
    code, out, _ = run(guest, "--allow-network", "--", "connect", "127.0.0.1", str(pong_server))
    assert (code, out) == (0, "pong\n")


def test_exit_status(guest: Guest) -> None:
    assert run(guest, "--", "exit", "0")[0] == 0
    assert run(guest, "--", "exit", "7")[0] == 1  # wasi:cli/exit carries success/failure only


def test_python_command_component(guest: Guest) -> None:
    r = wasmesh_process("run", guest("cmd-py"), "--env", "GREETING=hello", "--", "x", "y")
    assert (r.code, r.out) == (0, "args: x y\nGREETING: hello\n"), r.err
    assert wasmesh_process("run", guest("cmd-py"), "--", "fail").code == 1


def test_not_a_command(guest: Guest) -> None:
    r = wasmesh_process("run", guest("calc-c"))
    assert r.code == 2 and "not a command" in r.err
