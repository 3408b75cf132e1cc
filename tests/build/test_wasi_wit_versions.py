"""Worlds pinning any WASI 0.2.x resolve; other versions are one sentence."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from wasmesh.build import wasi
from wasmesh.build.embed import wasm_tools
from wasmesh.build.spec import load_guest
from wasmesh.errors import BuildError


def _world(tmp_path: Path, body: str) -> Path:
    wit = tmp_path / "wit"
    wit.mkdir()
    (wit / "world.wit").write_text(f"package test:pins;\n\nworld app {{\n{body}\n}}\n")
    return wit


def _resolves(wit: Path) -> str:
    proc = subprocess.run(
        [wasm_tools(), "component", "wit", str(wit)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("version", ["0.2.0", "0.2.3", "0.2.10", "0.2.12"])
def test_a_world_pinning_a_wasi_02_release_resolves(tmp_path: Path, version: str) -> None:
    wit = _world(tmp_path, f"  include wasi:http/proxy@{version};")
    out = _resolves(wasi.prepare_wit(wit, tmp_path / "scratch"))
    assert f"import wasi:http/outgoing-handler@{version};" in out
    assert f"export wasi:http/incoming-handler@{version};" in out


def test_two_releases_in_one_world(tmp_path: Path) -> None:
    wit = _world(tmp_path, "  include wasi:http/proxy@0.2.0;\n  import wasi:sockets/tcp@0.2.12;")
    out = _resolves(wasi.prepare_wit(wit, tmp_path / "scratch"))
    assert "import wasi:io/streams@0.2.0;" in out and "import wasi:sockets/tcp@0.2.12;" in out


@pytest.mark.parametrize(
    ("version", "says"),
    [("0.3.0", "WASI 0.2.x only"), ("0.2.99", "newer than the 0.2.12")],
)
def test_other_releases_are_one_sentence(tmp_path: Path, version: str, says: str) -> None:
    wit = _world(tmp_path, f"  include wasi:http/proxy@{version};")
    with pytest.raises(BuildError, match=says) as info:
        wasi.prepare_wit(wit, tmp_path / "scratch")
    assert "\n" not in str(info.value)


def test_a_world_bringing_its_own_wasi_03_wit_builds_against_it(tmp_path: Path) -> None:
    """What wasmesh cannot supply, a world may bring under wit/deps (as the opt-in engine
    core's WASI 0.3 guests do): nothing is added and nothing refused."""
    wit = _world(tmp_path, "  import wasi:clocks/monotonic-clock@0.3.0;")
    pkg = wit / "deps" / "clocks"
    pkg.mkdir(parents=True)
    (pkg / "clocks.wit").write_text(
        "package wasi:clocks@0.3.0;\n\ninterface monotonic-clock {\n"
        "  type instant = u64;\n  now: func() -> instant;\n}\n"
    )
    assert wasi.prepare_wit(wit, tmp_path / "scratch") == wit
    assert "import wasi:clocks/monotonic-clock@0.3.0;" in _resolves(wit)


def test_a_package_nobody_supplies_is_one_sentence(tmp_path: Path) -> None:
    src = tmp_path / "kv"
    src.mkdir()
    (src / "guest.toml").write_text('language = "wat"\nworld = "app"\n')
    (src / "app.wat").write_text("(module)")
    _world(src, "  import wasi:keyvalue/store@0.2.0-draft;\n  include wasi:http/proxy@0.2.0;")
    with pytest.raises(BuildError) as info:
        load_guest(src).build(tmp_path / "kv.wasm", quiet=True)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert "uses the WIT package wasi:keyvalue@0.2.0-draft" in message
    assert "add the package's WIT under wit/deps" in message
