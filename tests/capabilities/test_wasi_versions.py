"""WASI 0.3 components get one sentence naming what they target and how to rebuild them."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from tests.support.cli import wasmesh_process
from wasmesh.capabilities.wasi.versions import is_wasi_02, wasi_release

# A command importing and exporting WASI 0.3 names (the shape spin-sdk 5 / Spin 4 emit).
P3_COMMAND = """
(component
  (import "wasi:cli/environment@0.3.0" (instance
    (export "get-arguments" (func (result (list string))))))
  (core module $m (func (export "run") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $r (export "run" (func $run)))
  (export "wasi:cli/run@0.3.0" (instance $r)))
"""

P3_HTTP = """
(component
  (import "wasi:http/types@0.3.0-rc-2025-09-16" (instance
    (export "fields" (type (sub resource)))))
  (core module $m (func (export "handle") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (func $handle (result u32) (canon lift (core func $i "handle")))
  (instance $h (export "handle" (func $handle)))
  (export "wasi:http/handler@0.3.0-rc-2025-09-16" (instance $h)))
"""


def _component(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def test_release_of_a_name() -> None:
    assert wasi_release("wasi:http/handler@0.3.0-rc-2025-09-16") == (0, 3)
    assert wasi_release("wasi:io/streams@0.2.12") == (0, 2)
    assert wasi_release("demo:calc/math@0.1.0") is None
    assert is_wasi_02("wasi:io/streams@0.2.0") and not is_wasi_02("wasi:cli/run@0.3.0")


@pytest.mark.parametrize("flags", [(), ("--allow-network",)])
def test_run_names_wasi_03_and_how_to_rebuild(tmp_path: Path, flags: tuple[str, ...]) -> None:
    r = wasmesh_process("run", _component(tmp_path, "p3.wasm", P3_COMMAND), *flags)
    assert r.code == 2, r.err
    assert "targets WASI 0.3 (`wasi:cli/" in r.err  # the export, or an import natively
    assert "wasmesh runs WASI 0.2 components: rebuild it for WASI 0.2" in r.err
    assert "implementation is missing" not in r.err


def test_serve_names_wasi_03(tmp_path: Path) -> None:
    path = _component(tmp_path, "p3-http.wasm", P3_HTTP)
    r = wasmesh_process("serve", path, "--listen", "127.0.0.1:0", timeout=60)
    assert r.code == 2, r.err
    assert "targets WASI 0.3" in r.err and "wasi:http/proxy@0.2.x" in r.err


def test_other_wasi_proposals_keep_their_own_versions() -> None:
    assert wasi_release("wasi:logging/logging@0.1.0-draft") is None
    assert wasi_release("wasi:keyvalue/store@0.2.0-draft2") is None
