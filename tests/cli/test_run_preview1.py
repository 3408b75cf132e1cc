"""`wasmesh run` on WASI preview1 core modules, as `wasmtime run` runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import wasmtime

from tests.support.cli import wasmesh_process

Guest = Callable[[str], Path]


def test_args_env_dir_grant_and_exit_status(guest: Guest, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("hello")
    r = wasmesh_process(
        "run", guest("p1-c"), "--env", "GREETING=hi", "--env", "FILE=/data/in.txt",
        "--dir", f"{tmp_path}:/data", "--", "3", "a b",
    )  # fmt: skip
    assert r.code == 3, r.err
    assert r.out == (
        "argv[0]=p1-c.wasm\nargv[1]=3\nargv[2]=a b\nGREETING=hi\n/data/in.txt: hello\n"
    )
    assert (tmp_path / "in.txt.out").read_text() == "written"


def test_nothing_granted_by_default(guest: Guest, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("hello")
    r = wasmesh_process("run", guest("p1-c"), "--", "0")
    assert (r.code, r.out) == (0, "argv[0]=p1-c.wasm\nargv[1]=0\nGREETING=(unset)\n")
    # FILE is given but the directory is not: the module cannot open it.
    r = wasmesh_process("run", guest("p1-c"), "--env", "FILE=/data/in.txt", "--", "0")
    assert "cannot open /data/in.txt" in r.out


def test_read_only_dir_grant(guest: Guest, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("hello")
    r = wasmesh_process(
        "run", guest("p1-c"), "--env", "FILE=/data/in.txt", "--dir", f"{tmp_path}:/data:ro",
    )  # fmt: skip
    assert "/data/in.txt: hello" in r.out and "cannot write /data/in.txt.out" in r.out
    assert not (tmp_path / "in.txt.out").exists()


def test_exit_statuses_as_wasmtime_run(guest: Guest) -> None:
    assert wasmesh_process("run", guest("p1-c"), "--", "125").code == 125
    r = wasmesh_process("run", guest("p1-c"), "--", "300")
    assert r.code == 1 and "invalid exit status" in r.err  # wasmtime allows 0..125 only


def test_timeout_and_memory_limit_apply(guest: Guest, tmp_path: Path) -> None:
    loop = tmp_path / "loop.wat"
    loop.write_text(
        '(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))'
        ' (memory (export "memory") 1) (func (export "_start") (loop (br 0))))'
    )
    wasm = tmp_path / "loop.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(loop.read_text()))
    r = wasmesh_process("run", wasm, "--timeout", "1")
    assert r.code != 0 and "time limit" in r.err
    grow = tmp_path / "grow.wasm"
    grow.write_bytes(
        wasmtime.wat2wasm(
            '(module (memory (export "memory") 1) (func (export "_start")'
            " (if (i32.eq (memory.grow (i32.const 100)) (i32.const -1)) (then unreachable))))"
        )
    )
    assert wasmesh_process("run", grow).code == 0
    r = wasmesh_process("run", grow, "--memory-limit", "1MiB")
    assert r.code != 0 and "trapped" in r.err


def test_a_reactor_module_is_not_a_command(tmp_path: Path) -> None:
    wasm = tmp_path / "lib.wasm"
    wasm.write_bytes(wasmtime.wat2wasm('(module (func (export "f")))'))
    r = wasmesh_process("run", wasm)
    assert r.code == 2 and "without `_start`" in r.err


REACTOR = """
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $base (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $base (i32.const 100)))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (global.get $base) (i32.add (local.get 0) (local.get 1))))
  (func (export "half") (param f64) (result f64) (f64.div (local.get 0) (f64.const 2)))
  (func (export "env-count") (result i32)
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (i32.load (i32.const 0))))
"""


def test_invoke_a_preview1_reactor(tmp_path: Path) -> None:
    wasm = tmp_path / "lib.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(REACTOR))
    r = wasmesh_process("invoke", wasm, "add", "1", "2")
    assert (r.code, r.out) == (0, "103\n"), r.err  # `_initialize` ran first
    # one result prints as a component's does, not as a list
    assert wasmesh_process("invoke", wasm, "half(3)", "--json").out == "1.5\n"
    assert wasmesh_process("invoke", wasm, "env-count").out == "0\n"  # nothing granted
    r = wasmesh_process("invoke", wasm, "env-count", "--env", "A=1", "--env", "B=2")
    assert r.out == "2\n"
    r = wasmesh_process("invoke", wasm, "add", "1")
    assert r.code == 2 and "takes 2 argument(s) (i32, i32), got 1" in r.err
    r = wasmesh_process("invoke", wasm, "nope")
    assert r.code == 2 and "exports no function `nope`" in r.err
