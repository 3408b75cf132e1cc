"""Fixtures: an engine, the call-path test component (see `calls_guest`) and instantiation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import wasmtime
import wasmtime.component as wc

from tests.engine.calls.calls_guest import IFACE, build_calls_component


@pytest.fixture(scope="session")
def engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_component_model = True
    return wasmtime.Engine(config)


@pytest.fixture(scope="session")
def calls_component(engine: wasmtime.Engine) -> wc.Component:
    return wc.Component.from_file(engine, str(build_calls_component()))


Instantiate = Callable[..., tuple[wasmtime.Store, wc.Instance]]


@pytest.fixture
def instantiate(engine: wasmtime.Engine, calls_component: wc.Component) -> Any:
    """`instantiate(define)`: link `host` with `define(linker_instance)`, then instantiate."""

    def make(define: Callable[[wc.LinkerInstance], None]) -> tuple[wasmtime.Store, wc.Instance]:
        linker = wc.Linker(engine)
        with linker.root() as root, root.add_instance(IFACE) as inst:
            define(inst)
        store = wasmtime.Store(engine)
        return store, linker.instantiate(store, calls_component)

    return make
