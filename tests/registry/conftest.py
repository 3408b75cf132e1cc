"""A real registry per test module, and a private wasmesh cache per test (sharing the suite's
compiled artifacts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import private_cache_dir
from tests.support.registry import Registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    running = Registry.start(tmp_path_factory.mktemp("registry"))
    yield running
    running.close()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = private_cache_dir(tmp_path / "wasmesh-cache")
    monkeypatch.setenv("WASMESH_CACHE_DIR", str(cache))
    return cache
