"""HTTP guests built from tests/guests, shared by the HTTP tests and bench/http.py.

componentize-js's engine exports `wasi:http/incoming-handler@0.2.10`, so JS guests build
against jco's WASI WIT renumbered to 0.2.10 (same interfaces, older name); every other guest
builds as its guest.toml says.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from tests.conftest import GUESTS, build_guest, guest_cache_dir
from wasmesh.build import wasi
from wasmesh.build.cache import exclusive
from wasmesh.build.spec import load_guest

JS_WASI_VERSION = "0.2.10"

# Serving benchmarks and tests use these: three Python and two JS components of different sizes.
HTTP_GUESTS = ("http-hello-py", "http-echo-py", "http-router-py", "http-echo-js", "http-api-js")


def wasi_wit_at(version: str, out: Path) -> Path:
    """jco's WASI WIT packages, renumbered to `version`, written under `out`."""
    for name, pkg in wasi.wasi_wit_packages().items():
        dest = out / name.replace(":", "-")
        dest.mkdir(parents=True, exist_ok=True)
        for wit in pkg.glob("*.wit"):
            text = wit.read_text().replace(f"@{wasi.WASI_VERSION}", f"@{version}")
            (dest / wit.name).write_text(text)
    return out


def build_http_guest(name: str) -> Path:
    """The built component of the HTTP guest `tests/guests/<name>` (cached by content)."""
    spec = load_guest(GUESTS / name)
    if spec.language != "js":
        return build_guest(name)
    assert spec.wit_dir is not None
    wit = guest_cache_dir() / f"{name}-wit"
    # Test workers share the copy: one rewrites and builds from it while the others wait.
    with exclusive(wit):
        shutil.rmtree(wit, ignore_errors=True)
        shutil.copytree(spec.wit_dir, wit)
        wasi_wit_at(JS_WASI_VERSION, wit / "deps")
        spec = dataclasses.replace(spec, wit_dir=wit)
        return spec.build(guest_cache_dir() / f"{name}.wasm", quiet=True).path
