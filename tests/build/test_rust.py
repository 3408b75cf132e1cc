"""The Rust toolchain: kinds-rs (cargo + wit-bindgen) round-trips every WIT value kind."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.build.conftest import instantiate
from tests.cli.test_invoke import ROUND_TRIPS
from tests.conftest import GUESTS, guest_cache_dir
from tests.support.cli import BIN, wasmesh
from wasmesh.build import MissingToolError, load_guest, rust, toolchain_for
from wasmesh.errors import BuildError

RT = "demo:kinds/roundtrip@0.1.0"
Guest = Callable[[str], Path]

pytestmark = pytest.mark.slow  # the first build compiles Rust's standard library for wasm32


@pytest.fixture(scope="module")
def kinds_rs(guest: Guest) -> Path:
    return guest("kinds-rs")


@pytest.fixture(scope="module")
def peer(kinds_rs: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """``peer(call)``: what `wasmtime run --invoke` prints (compiled once, not per call)."""
    compiled = tmp_path_factory.mktemp("peer") / "kinds-rs.cwasm"
    subprocess.run([str(BIN / "wasmtime"), "compile", str(kinds_rs), "-o", str(compiled)],
                   check=True, timeout=300)  # fmt: skip

    def run(call: str) -> str:
        proc = subprocess.run(
            [str(BIN / "wasmtime"), "run", "--allow-precompiled", "--invoke", call, str(compiled)],
            capture_output=True, text=True, timeout=120, env={"RUST_BACKTRACE": "0"},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    return run


@pytest.mark.parametrize(("func", "arg"), ROUND_TRIPS)
def test_every_kind_round_trips_like_wasmtime(
    kinds_rs: Path, peer: Callable[[str], str], func: str, arg: str
) -> None:
    call = f"{func}({arg})"
    ours = wasmesh("invoke", kinds_rs, call)
    assert (ours.code, ours.err) == (0, "")
    assert ours.out == peer(call)
    expected = "1" + "0" * 21 if arg == "1e21" else arg  # wasmtime prints floats in full
    assert ours.out == expected + "\n"


@pytest.mark.parametrize(
    ("call", "answer"),
    [('lookup("ann")', 'ok("ann")'), ('lookup("root")', "err(denied)"), ("check(true)",
     'err("failed")'), ('describe(7, "b", [1, 255])', '"7|b|01ff"')],
)  # fmt: skip
def test_results_like_wasmtime(
    kinds_rs: Path, peer: Callable[[str], str], call: str, answer: str
) -> None:
    ours = wasmesh("invoke", kinds_rs, call)
    assert ours.out == peer(call) == answer + "\n"


def test_exported_resource(kinds_rs: Path) -> None:
    kinds = instantiate(kinds_rs)
    counter = kinds.call(RT, "[constructor]counter", 5)
    assert kinds.call(RT, "[method]counter.incr", counter, 3) == 8
    assert kinds.call(RT, "peek", counter) == 8
    zero = kinds.call(RT, "[static]counter.zero")
    assert kinds.call(RT, "[method]counter.get", zero) == 0


def test_up_to_date_build_is_a_no_op(kinds_rs: Path) -> None:
    before = kinds_rs.stat()
    result = load_guest(GUESTS / "kinds-rs").build(guest_cache_dir() / "kinds-rs.wasm")
    assert not result.rebuilt
    assert (kinds_rs.stat().st_ino, kinds_rs.stat().st_mtime_ns) == (
        before.st_ino, before.st_mtime_ns
    )  # fmt: skip


def test_no_cargo_toml(tmp_path: Path) -> None:
    src = tmp_path / "bare"
    shutil.copytree(GUESTS / "kinds-rs" / "src", src / "src")
    with pytest.raises(BuildError, match=r"has no Cargo\.toml"):
        toolchain_for("rust").build(src, tmp_path / "b.wasm", "kinds", GUESTS / "kinds-py" / "wit")


def test_a_compiler_without_wasm32_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only what is on PATH: here rustup's toolchains, whose standard library is x86_64 only.
    rustup = shutil.which("rustc")
    only = Path(rustup).parent if rustup and "/usr/bin" not in rustup else tmp_path / "none"
    monkeypatch.setenv("PATH", str(only))
    monkeypatch.setattr(rust, "_CANDIDATES", ("rustc",))
    rust.find_compiler.cache_clear()
    try:
        with pytest.raises(MissingToolError, match=r"^no Rust compiler here can build wasm32"):
            toolchain_for("rust").build(
                GUESTS / "kinds-rs", tmp_path / "k.wasm", "kinds", GUESTS / "kinds-py" / "wit"
            )
    finally:
        rust.find_compiler.cache_clear()
