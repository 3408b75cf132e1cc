"""Which WASI a component runs on: wasmtime's native WASI, or the Python layer.

wasmtime's native WASI serves most components; the Python layer (`wasi_python`) serves those
native WASI cannot: ones granted network (wasmtime-py cannot grant WASI 0.2 sockets) and ones
importing `wasi:http/*`. The Python layer is imported only when needed: it costs tens of
milliseconds at start-up, which every `wasmesh invoke` would otherwise pay.
"""

from __future__ import annotations

from wasmesh.capabilities.base import Capability, Setup
from wasmesh.capabilities.wasip2 import WasiP2
from wasmesh.engine.loader import LoadedComponent
from wasmesh.policy import Grants


def needs_python_wasi(loaded: LoadedComponent, grants: Grants) -> bool:
    """Whether `loaded` under `grants` needs the Python layer rather than native WASI."""
    if grants.network:
        return True
    return any(item.name.startswith("wasi:http/") for item in loaded.world.imports)


def default_wasi(setup: Setup) -> Capability:
    """The WASI capability a component runs on: native unless it cannot serve the component."""
    if setup.serving or needs_python_wasi(setup.loaded, setup.policy.grants):
        from wasmesh.capabilities.wasi_python import WasiPython

        return WasiPython(setup.loaded, setup.argv, setup.program, serving=setup.serving)
    return WasiP2(setup.argv, setup.program)
