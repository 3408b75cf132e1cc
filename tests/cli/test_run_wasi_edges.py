"""Edge cases where the Python WASI layer must behave as wasmtime's native WASI does.

Each runs the same command on both layers (`--allow-network` selects the Python one).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import wasmesh_process

Guest = Callable[[str], Path]

LAYERS = {"native": (), "python": ("--allow-network",)}


@pytest.fixture(params=sorted(LAYERS))
def layer(request: pytest.FixtureRequest) -> tuple[str, ...]:
    return LAYERS[str(request.param)]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "f.txt").write_text("hi")
    os.symlink("/etc/passwd", tmp_path / "out")
    os.symlink("f.txt", tmp_path / "in")
    return tmp_path


def _run(guest: Guest, layer: tuple[str, ...], tree: Path, *argv: str) -> tuple[int, str, str]:
    r = wasmesh_process("run", guest("cmd-c"), *layer, "--dir", f"{tree}:/data", "--", *argv)
    return r.code, r.out, r.err


def test_a_read_of_2_64_bytes_returns_a_bounded_chunk(guest: Guest, layer: tuple[str, ...]) -> None:
    data = "x" * 3_000_000
    r = wasmesh_process("run", guest("cmd-c"), *layer, "--stdin", "--", "bigread", input=data)
    assert (r.code, r.out) == (0, "3000000\n"), r.err


def test_a_trailing_slash_on_a_file_is_not_a_directory(
    guest: Guest, layer: tuple[str, ...], tree: Path
) -> None:
    code, out, err = _run(guest, layer, tree, "read", "/data/f.txt/")
    assert (code, out) == (1, "") and "Not a directory" in err
    assert _run(guest, layer, tree, "read", "/data/f.txt")[:2] == (0, "hi")


def test_readlink_never_shows_a_host_path(guest: Guest, layer: tuple[str, ...], tree: Path) -> None:
    code, out, err = _run(guest, layer, tree, "readlink", "/data/out")
    assert (code, out) == (1, "") and "Operation not permitted" in err
    assert _run(guest, layer, tree, "readlink", "/data/in")[:2] == (0, "f.txt\n")


def test_symlink_inside_the_grant(guest: Guest, layer: tuple[str, ...], tree: Path) -> None:
    assert _run(guest, layer, tree, "symlink", "../f.txt", "/data/sub/up")[0] == 0
    assert os.readlink(tree / "sub" / "up") == "../f.txt"
    assert _run(guest, layer, tree, "read", "/data/sub/up")[:2] == (0, "hi")
    code, _, err = _run(guest, layer, tree, "symlink", "/etc/passwd", "/data/abs")
    assert code == 1 and "Operation not permitted" in err
    assert not os.path.lexists(tree / "abs")
