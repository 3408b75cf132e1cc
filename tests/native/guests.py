"""Guests for the native engine core's tests and bench/engine_core.py.

`http-hello-p3-py` targets WASI 0.3.0, which the build helpers do not supply (they bring WASI
0.2.12): its WIT is copied into the guest cache with jco's 0.3.0 packages under `deps/`.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from tests.conftest import GUESTS, build_guest, guest_cache_dir
from wasmesh.build import wasi
from wasmesh.build.cache import exclusive
from wasmesh.build.spec import load_guest

WASI_P3_VERSION = "0.3.0"


def build_p3_guest(name: str) -> Path:
    """The built component of the WASI 0.3 guest `tests/guests/<name>` (cached by content)."""
    spec = load_guest(GUESTS / name)
    assert spec.wit_dir is not None
    wit = guest_cache_dir() / f"{name}-wit"
    # Test workers share the copy: one rewrites and builds from it while the others wait.
    with exclusive(wit):
        shutil.rmtree(wit, ignore_errors=True)
        shutil.copytree(spec.wit_dir, wit)
        builtin = wasi.jco_dir() / "lib" / "wit" / "builtin" / WASI_P3_VERSION
        for pkg in sorted(p for p in builtin.iterdir() if p.is_dir()):
            shutil.copytree(pkg, wit / "deps" / pkg.name)
        spec = dataclasses.replace(spec, wit_dir=wit)
        return spec.build(guest_cache_dir() / f"{name}.wasm", quiet=True).path


def build(name: str) -> Path:
    """Any guest by name: WASI 0.3 guests through `build_p3_guest`, others as usual."""
    return build_p3_guest(name) if name.endswith("-p3-py") else build_guest(name)
