"""The C toolchain: clang to wasm32, embed + new, with and without the WASI adapter."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from tests.build.conftest import Running, instantiate, logging_wrappers
from wasmesh.build import MissingToolError, ToolchainFailure, load_guest, toolchain_for
from wasmesh.engine import load_component
from wasmesh.errors import BuildError

GUESTS = Path(__file__).resolve().parents[1] / "guests"
MATH = "demo:calc/math@0.1.0"


@pytest.mark.parametrize("name", ["calc-c", "calc-pure-c"])
def test_calc_exports(guest: Callable[[str], Path], name: str) -> None:
    calc = instantiate(guest(name))
    assert calc.call(MATH, "add", 2, -5) == -3
    assert calc.call(MATH, "add", 2**31 - 1, 1) == -(2**31), "s32 addition wraps"
    assert calc.call(MATH, "mul-u64", 2**40, 3) == 3 * 2**40
    assert calc.call(MATH, "div", 1.0, 8.0) == 0.125
    assert calc.call(MATH, "greet", "wörld") == "Hello, wörld!"
    data = bytes(range(256)) * 40
    assert calc.call(MATH, "checksum", data) == zlib.adler32(data)
    assert calc.call(None, "version") == "calc 0.1.0"


def test_calc_reads_the_wall_clock_through_wasi(guest: Callable[[str], Path]) -> None:
    calc = instantiate(guest("calc-c"))
    assert abs(calc.call(None, "wall-clock-ms") - time.time() * 1000) < 5000


def test_pure_variant_has_no_imports(guest: Callable[[str], Path]) -> None:
    world = load_component(guest("calc-pure-c")).world
    assert world.imports == ()
    with_wasi = load_component(guest("calc-c")).world
    assert any(item.name.startswith("wasi:") for item in with_wasi.imports)


def _command(path: Path, args: list[str], tmp_path: Path, **extra: object) -> tuple[Running, Path]:
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["cmd", *args]
    out = tmp_path / "stdout.txt"
    wasi.stdout_file = str(out)
    env = extra.get("env")
    if isinstance(env, dict):
        wasi.env = list(env.items())
    preopen = extra.get("preopen")
    if isinstance(preopen, Path):
        wasi.preopen_dir(str(preopen), "/data")
    return instantiate(path, wasi), out


def _run_command(running: Running) -> int:
    """Run the command; its exit status (WASI 0.2 reports any failure as 1)."""
    try:
        result = running.call("wasi:cli/run@0.2.12", "run")
    except wasmtime.ExitTrap as exit_trap:
        return int(exit_trap.code)
    return 0 if result.tag == "ok" else 1


def test_command_args_env_and_files(guest: Callable[[str], Path], tmp_path: Path) -> None:
    cmd = guest("cmd-c")
    running, out = _command(cmd, ["args", "a", "b c"], tmp_path)
    assert _run_command(running) == 0
    assert out.read_text() == "a\nb c\n"

    running, out = _command(cmd, ["env", "NAME"], tmp_path, env={"NAME": "wasmesh"})
    assert _run_command(running) == 0
    assert out.read_text() == "wasmesh\n"

    data = tmp_path / "data"
    data.mkdir()
    running, out = _command(cmd, ["write", "/data/f.txt", "written"], tmp_path, preopen=data)
    assert _run_command(running) == 0
    assert (data / "f.txt").read_text() == "written"
    running, out = _command(cmd, ["read", "/data/f.txt"], tmp_path, preopen=data)
    assert _run_command(running) == 0
    assert out.read_text() == "written"


def test_command_denied_without_grants(guest: Callable[[str], Path], tmp_path: Path) -> None:
    cmd = guest("cmd-c")
    running, _ = _command(cmd, ["env", "NAME"], tmp_path)
    assert _run_command(running) == 1, "an unset variable is a failed run"
    running, _ = _command(cmd, ["read", "/data/f.txt"], tmp_path)
    assert _run_command(running) == 1, "no preopened directory, no file"


def test_command_tcp_connect_is_denied_by_default(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        wasi_err = tmp_path / "stderr.txt"
        running = instantiate(
            guest("cmd-c"), _with_stderr(["cmd", "connect", "127.0.0.1", str(port)], wasi_err)
        )
        assert _run_command(running) == 1
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing reached the listener
    assert "access-denied" in wasi_err.read_text()


def test_command_tcp_connect_when_granted(guest: Callable[[str], Path]) -> None:
    # wasmtime-py cannot grant sockets; the wasmtime CLI (the benchmark peer) can.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        replies: list[bytes] = []

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                data = conn.recv(64)
                replies.append(data)
                conn.sendall(b"pong:" + data)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        cli = [str(shutil.which("wasmtime")), "run", "-S", "inherit-network"]
        proc = subprocess.run(
            [*cli, str(guest("cmd-c")), "connect", "127.0.0.1", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        thread.join(timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert replies == [b"ping\n"]
    assert proc.stdout == "pong:ping\n"


def _with_stderr(argv: list[str], path: Path) -> wasmtime.WasiConfig:
    wasi = wasmtime.WasiConfig()
    wasi.argv = argv
    wasi.stderr_file = str(path)
    return wasi


def _copy_calc(dest: Path) -> Path:
    shutil.copytree(GUESTS / "calc-c", dest, symlinks=False)
    return dest


def _options() -> dict[str, object]:
    return {"adapter": "reactor", "include": [str(GUESTS / "_c")]}


def test_second_build_is_a_no_op(tmp_path: Path) -> None:
    src = _copy_calc(tmp_path / "calc")
    log = tmp_path / "tools.log"
    bin_dir = tmp_path / "bin"
    logging_wrappers(
        bin_dir,
        log,
        {
            "clang-19": str(shutil.which("clang-19")),
            "wasm-tools": str(shutil.which("wasm-tools")),
        },
    )
    out = tmp_path / "out" / "calc.wasm"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{bin_dir}:{_path()}")
        # tools beside the interpreter come first; here the logging wrappers must
        mp.setattr("wasmesh.tools.tool_dirs", lambda: [])
        first = toolchain_for("c").build(src, out, "calc", src / "wit", options=_options())
        assert first.rebuilt
        assert "clang-19" in log.read_text() and "wasm-tools component new" in log.read_text()
        log.write_text("")
        before = out.stat()
        second = toolchain_for("c").build(src, out, "calc", src / "wit", options=_options())
    assert not second.rebuilt
    assert second.key == first.key
    assert log.read_text() == "", "no tool runs for an up-to-date output"
    after = out.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert second.seconds < 0.5

    (src / "calc.c").write_text((src / "calc.c").read_text() + "\n/* changed */\n")
    third = toolchain_for("c").build(src, out, "calc", src / "wit", options=_options())
    assert third.rebuilt and third.key != first.key


def _path() -> str:
    import os

    return os.environ["PATH"]


def test_broken_source_quotes_the_compiler(tmp_path: Path) -> None:
    src = _copy_calc(tmp_path / "calc")
    (src / "calc.c").write_text("int broken(void) { return 1 }\n")
    with pytest.raises(ToolchainFailure) as info:
        toolchain_for("c").build(
            src, tmp_path / "o.wasm", "calc", src / "wit", name="my-calc", options=_options()
        )
    message = str(info.value)
    assert "'my-calc'" in message
    assert "expected ';'" in message
    assert info.value.component == "my-calc"
    assert not (tmp_path / "o.wasm").exists()


def test_missing_export_is_reported_by_wasm_tools(tmp_path: Path) -> None:
    src = _copy_calc(tmp_path / "calc")
    text = (src / "calc.c").read_text().replace('CABI_EXPORT("version")', "")
    (src / "calc.c").write_text(text)
    with pytest.raises(ToolchainFailure, match="version"):
        toolchain_for("c").build(src, tmp_path / "o.wasm", "calc", src / "wit", options=_options())


def test_missing_compiler_is_one_clear_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _copy_calc(tmp_path / "calc")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(MissingToolError, match=r"clang-19 is not installed .*\./dev test"):
        toolchain_for("c").build(src, tmp_path / "o.wasm", "calc", src / "wit", options=_options())


def test_unknown_adapter(tmp_path: Path) -> None:
    spec = load_guest(GUESTS / "calc-c")
    opts = {**spec.options, "adapter": "sideways"}
    expected = "adapter 'sideways'; use reactor, command, none or module"
    with pytest.raises(BuildError, match=expected):
        toolchain_for("c").build(
            spec.source_dir, tmp_path / "o.wasm", "calc", spec.wit_dir, options=opts
        )


def test_command_stdin_and_exit_status(guest: Callable[[str], Path], tmp_path: Path) -> None:
    cmd = guest("cmd-c")
    (tmp_path / "in.txt").write_text("from stdin\n")
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["cmd", "stdin"]
    wasi.stdin_file = str(tmp_path / "in.txt")
    wasi.stdout_file = str(tmp_path / "out.txt")
    assert _run_command(instantiate(cmd, wasi)) == 0
    assert (tmp_path / "out.txt").read_text() == "from stdin\n"
    running, _ = _command(cmd, ["exit", "0"], tmp_path)
    assert _run_command(running) == 0
    running, _ = _command(cmd, ["exit", "7"], tmp_path)
    assert _run_command(running) == 1, "WASI 0.2 exit carries failure, not the number"
