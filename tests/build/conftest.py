"""Shared fixtures for build tests: instantiate a built component and call its exports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import wasmtime
import wasmtime.component as wc

from wasmesh.engine import deadline_ticks, load_component


@dataclass
class Running:
    """One instance of a component in its own store."""

    store: wasmtime.Store
    instance: wc.Instance

    def call(self, interface: str | None, name: str, *args: Any) -> Any:
        """Call export ``name`` (inside ``interface`` when given)."""
        parent = None
        if interface is not None:
            parent = self.instance.get_export_index(self.store, interface)
            assert parent is not None, f"no export {interface}"
        index = self.instance.get_export_index(self.store, name, parent)
        assert index is not None, f"no export {name}"
        func = self.instance.get_func(self.store, index)
        assert func is not None
        return func(self.store, *args)


def instantiate(path: Path, wasi: wasmtime.WasiConfig | None = None) -> Running:
    """A fresh instance of the component at ``path`` with WASI from ``wasi`` (or nothing)."""
    loaded = load_component(path, progress=False)
    linker = wc.Linker(loaded.engine)
    linker.add_wasip2()
    store = wasmtime.Store(loaded.engine)
    store.set_epoch_deadline(deadline_ticks(30.0))
    store.set_wasi(wasi or wasmtime.WasiConfig())
    return Running(store, linker.instantiate(store, loaded.component))


@pytest.fixture
def run() -> Callable[..., Running]:
    """``run(path, wasi=None) -> Running``."""
    return instantiate


def logging_wrappers(bin_dir: Path, log: Path, tools: dict[str, str]) -> None:
    """Put ``name -> real path`` wrappers in ``bin_dir`` that log each run, then run the tool."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, real in tools.items():
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexec "{real}" "$@"\n')
        wrapper.chmod(0o755)
