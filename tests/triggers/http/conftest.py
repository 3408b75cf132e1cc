"""A real wasmesh HTTP server on loopback, serving guests built from tests/guests."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import GUESTS, guest_cache_dir
from tests.triggers.http.servers import running
from wasmesh.build import wasi
from wasmesh.build.spec import load_guest
from wasmesh.triggers.http import Limits, PoolSettings, Server


@pytest.fixture(scope="session")
def echo_py(guest: Callable[[str], Path]) -> Path:
    return guest("http-echo-py")


def _wasi_wit_at(version: str, out: Path) -> Path:
    """jco's WASI WIT packages, renumbered to `version` (same interfaces, older name)."""
    for name, pkg in wasi.wasi_wit_packages().items():
        dest = out / name.replace(":", "-")
        dest.mkdir(parents=True, exist_ok=True)
        for wit in pkg.glob("*.wit"):
            text = wit.read_text().replace(f"@{wasi.WASI_VERSION}", f"@{version}")
            (dest / wit.name).write_text(text)
    return out


@pytest.fixture(scope="session")
def echo_js() -> Path:
    spec = load_guest(GUESTS / "http-echo-js")
    assert spec.wit_dir is not None
    wit = guest_cache_dir() / "http-echo-js-wit"
    shutil.rmtree(wit, ignore_errors=True)
    shutil.copytree(spec.wit_dir, wit)
    _wasi_wit_at("0.2.10", wit / "deps")
    spec = dataclasses.replace(spec, wit_dir=wit)
    return spec.build(guest_cache_dir() / "http-echo-js.wasm", quiet=True).path


@pytest.fixture(scope="module")
def echo_server(echo_py: Path) -> Iterator[Server]:
    limits = Limits(request_timeout=3.0)
    pool = PoolSettings(memory_limit=96 << 20, allow_outbound=("http://127.0.0.1:*",))
    with running({"/...": echo_py}, limits=limits, pool=pool) as server:
        yield server
