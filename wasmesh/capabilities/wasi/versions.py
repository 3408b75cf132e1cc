"""Which WASI release a component targets, and one sentence when it is not WASI 0.2.

wasmesh hosts WASI 0.2 (`wasi:*@0.2.x`: every patch 0.2.0-0.2.12). WASI 0.3 components
(`wasi:cli/run@0.3.0`, `wasi:http/handler@0.3.0`, release candidates `@0.3.0-rc-...`; Spin 4's
and spin-sdk 5's default) need component-model async streams and futures, which the engine's
C API cannot create or read yet, so they are refused up front with how to rebuild them rather
than failing at instantiation with "function implementation is missing".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from wasmesh.errors import ComponentError

# The WASI release packages (proposals such as wasi:logging or wasi:keyvalue version apart).
_WASI = re.compile(
    r"^wasi:(?:io|clocks|random|cli|filesystem|sockets|http)/[a-z0-9-]+@(\d+)\.(\d+)\."
)

REBUILD = (
    "rebuild it for WASI 0.2 (a `wasi:http/proxy@0.2.x` or `wasi:cli/command@0.2.x` world: "
    "spin-sdk 4 rather than 5 for Python, Spin 3 templates, componentize-py or jco's default "
    "0.2 worlds, Rust's wasm32-wasip2 target with the wasi 0.2 crates)"
)


def wasi_release(name: str) -> tuple[int, int] | None:
    """(major, minor) of a versioned `wasi:` interface name, else None."""
    m = _WASI.match(name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def is_wasi_02(name: str) -> bool:
    """Whether `name` is a WASI 0.2 interface (or not a versioned WASI name at all)."""
    release = wasi_release(name)
    return release is None or release == (0, 2)


def check_wasi_02(names: Iterable[str], label: str = "this component") -> None:
    """Raise one sentence if any of the imported/exported `names` is WASI other than 0.2."""
    for name in names:
        release = wasi_release(name)
        if release is not None and release != (0, 2):
            raise ComponentError(
                f"{label} targets WASI {release[0]}.{release[1]} (`{name}`); wasmesh runs "
                f"WASI 0.2 components: {REBUILD}."
            )
