"""The Go toolchain: kinds-go round-trips every WIT value kind, http-hello-go is served."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.build.conftest import instantiate, logging_wrappers
from tests.cli.test_invoke import ROUND_TRIPS
from tests.conftest import GUESTS, guest_cache_dir
from tests.support.cli import BIN, wasmesh
from tests.support.processes import Served
from wasmesh.build import MissingToolError, ToolchainFailure, load_guest, toolchain_for
from wasmesh.engine import deadline_ticks
from wasmesh.errors import BuildError

RT = "demo:kinds/roundtrip@0.1.0"
Guest = Callable[[str], Path]

# Calls whose answer is not the argument, as `wasmtime run --invoke` prints them.
CALLS = [
    ('lookup("ann")', 'ok("ann")'),
    ('lookup("")', "err(not-found)"),
    ('lookup("root")', "err(denied)"),
    ("check(false)", "ok"),
    ("check(true)", 'err("failed")'),
    ('describe(4294967295, "b", [1, 255])', '"4294967295|b|01ff"'),
    ('echo-event(text("t"))', 'echo-event(text("t"))'),
]


@pytest.fixture(scope="module")
def kinds_go(guest: Guest) -> Path:
    return guest("kinds-go")


@pytest.fixture(scope="module")
def peer(kinds_go: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """``peer(call)``: what `wasmtime run --invoke` prints (compiled once, not per call)."""
    compiled = tmp_path_factory.mktemp("peer") / "kinds-go.cwasm"
    subprocess.run([str(BIN / "wasmtime"), "compile", str(kinds_go), "-o", str(compiled)],
                   check=True, timeout=300)  # fmt: skip

    def run(call: str) -> str:
        proc = subprocess.run(
            [str(BIN / "wasmtime"), "run", "--allow-precompiled", "--invoke", call, str(compiled)],
            capture_output=True, text=True, timeout=120, env={"RUST_BACKTRACE": "0"},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    return run


@pytest.mark.parametrize(("func", "arg"), [*ROUND_TRIPS, ("echo-event", 'text("t")')])
def test_every_kind_round_trips_like_wasmtime(
    kinds_go: Path, peer: Callable[[str], str], func: str, arg: str
) -> None:
    call = f"{func}({arg})"
    ours = wasmesh("invoke", kinds_go, call)
    assert (ours.code, ours.err) == (0, "")
    assert ours.out == peer(call)
    expected = "1" + "0" * 21 if arg == "1e21" else arg  # wasmtime prints floats in full
    assert ours.out == expected + "\n"


@pytest.mark.parametrize(("call", "answer"), CALLS)
def test_results_and_several_parameters_like_wasmtime(
    kinds_go: Path, peer: Callable[[str], str], call: str, answer: str
) -> None:
    ours = wasmesh("invoke", kinds_go, call)
    assert ours.out == peer(call)
    assert ours.out == (answer if not answer.startswith("echo-") else 'text("t")') + "\n"


def test_exported_resource(kinds_go: Path) -> None:
    kinds = instantiate(kinds_go)
    counter = kinds.call(RT, "[constructor]counter", 5)
    assert kinds.call(RT, "[method]counter.incr", counter, 3) == 8
    assert kinds.call(RT, "peek", counter) == 8
    zero = kinds.call(RT, "[static]counter.zero")
    assert kinds.call(RT, "[method]counter.incr", zero, 2) == 2
    assert kinds.call(RT, "[method]counter.get", counter) == 8
    counter.drop(kinds.store)
    assert kinds.call(RT, "[method]counter.get", zero) == 2


def test_large_values_survive_the_go_heap(kinds_go: Path) -> None:
    # Larger than the 1 MiB slab host-written values start in, on a fresh instance: the first
    # call takes pages from the runtime, later ones find a grown slab.
    kinds = instantiate(kinds_go)
    # wasmtime-py lowers a list<u8> element by element: on a loaded machine a MiB takes ~40 s.
    kinds.store.set_epoch_deadline(deadline_ticks(600.0))
    blob = bytes(range(256)) * (5 << 10)
    for _ in range(3):
        assert kinds.call(RT, "echo-bytes", blob) == blob
    # Enough allocation for Go's garbage collector to run between and during calls (a fresh
    # instance: a store's deadline covers all its calls, and this machine is shared).
    kinds = instantiate(kinds_go)
    kinds.store.set_epoch_deadline(deadline_ticks(600.0))
    strings = [f"item {i} " * 20 for i in range(600)]
    for _ in range(3):
        assert kinds.call(RT, "echo-strings", strings) == strings


@pytest.fixture
def served_go(guest: Guest) -> Iterator[Served]:
    served = Served([str(BIN / "wasmesh"), "serve", str(guest("http-hello-go")),
                     "--listen", "127.0.0.1:0"])  # fmt: skip
    yield served
    served.stop()


def test_go_http_handler_is_served(served_go: Served) -> None:
    assert served_go.request("GET", "/hello?name=Gopher") == (
        200, "text/plain; charset=utf-8", b"Hello, Gopher!\n"
    )  # fmt: skip
    body = b'{"n": 1}' * 5000
    assert served_go.request("POST", "/echo", body) == (200, "application/octet-stream", body)
    assert served_go.request("DELETE", "/x") == (404, "text/plain", b"no route for DELETE /x\n")
    assert served_go.request("GET", "/panic")[0] == 500  # a Go panic traps that request only
    assert served_go.request("GET", "/hello")[2] == b"Hello, world!\n"


def test_up_to_date_build_runs_no_tool(
    kinds_go: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = kinds_go.stat()
    log = tmp_path / "tools.log"
    real = Path(str(shutil.which("go"))).resolve()
    # The wrapper stands where `go` stands in a GOROOT, so the toolchain's identity is the same.
    logging_wrappers(tmp_path / "goroot" / "bin", log, {"go": str(real)})
    shutil.copy(real.parent.parent / "VERSION", tmp_path / "goroot" / "VERSION")
    monkeypatch.setenv("PATH", f"{tmp_path / 'goroot' / 'bin'}")
    result = load_guest(GUESTS / "kinds-go").build(guest_cache_dir() / "kinds-go.wasm")
    assert not result.rebuilt
    assert not log.exists()
    assert (kinds_go.stat().st_ino, kinds_go.stat().st_mtime_ns) == (
        before.st_ino, before.st_mtime_ns
    )  # fmt: skip


@pytest.mark.slow
def test_missing_export_is_a_go_error_naming_it(tmp_path: Path) -> None:
    src = tmp_path / "partial"
    shutil.copytree(GUESTS / "kinds-go", src)
    main = src / "main.go"
    main.write_text(main.read_text().replace("func RoundtripEchoBool(", "func echoBool("))
    with pytest.raises(ToolchainFailure) as info:
        toolchain_for("go").build(src, tmp_path / "p.wasm", "kinds", GUESTS / "kinds-py" / "wit")
    assert (info.value.component, info.value.tool) == ("partial", "go")
    assert "undefined: RoundtripEchoBool" in info.value.output


def test_no_go_files(tmp_path: Path) -> None:
    src = tmp_path / "empty"
    shutil.copytree(GUESTS / "kinds-py" / "wit", src / "wit")
    with pytest.raises(BuildError, match=r"has no \.go file"):
        toolchain_for("go").build(src, tmp_path / "e.wasm", "kinds", src / "wit")


def test_unknown_world(tmp_path: Path) -> None:
    src = tmp_path / "kinds"
    shutil.copytree(GUESTS / "kinds-go", src)
    with pytest.raises(BuildError, match="has no world 'nope'"):
        toolchain_for("go").build(src, tmp_path / "k.wasm", "nope", GUESTS / "kinds-py" / "wit")


def test_missing_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "kinds"
    shutil.copytree(GUESTS / "kinds-go", src)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(MissingToolError, match=r"^go is not installed .*Go 1\.24 or later"):
        toolchain_for("go").build(src, tmp_path / "k.wasm", "kinds", GUESTS / "kinds-py" / "wit")
