"""Composition: an application's manifest, its wiring graph, and its deployment units.

    from wasmesh.compose import App
    shop = App.load("examples/polyglot/wasmesh.toml")          # [deploy] of the manifest
    shop.call("shop:pricing/quote@0.1.0#quote", items, "fr")
    App.load(path, strategy="per-component")                   # same app, one unit each

`load_manifest` reads `wasmesh.toml`; `wire` matches imports to exports and host interfaces;
`plan_units` groups components into units; `compose_unit` fuses a unit into one component
with an isolation adapter per member whose grants differ from the unit's; `render_tree`,
`render_dot` and `render_svg` draw the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wasmesh.compose.composer import compose_unit
from wasmesh.compose.grants import Grants
from wasmesh.compose.graph import render_dot, render_svg, render_tree
from wasmesh.compose.manifest import Manifest, load_manifest, parse_manifest, with_strategy
from wasmesh.compose.units import PlanError, UnitPlan, plan_units
from wasmesh.compose.wiring import Link, WiringError, WiringGraph, default_host, wire
from wasmesh.runtime.grants import DirGrant
from wasmesh.sizes import format_size, parse_size

if TYPE_CHECKING:
    from wasmesh.compose.app import App, AppPlan, plan_app

# `app` needs the runtime, which itself reads sizes from this package: import it on first use.
_LAZY = {"App", "AppPlan", "plan_app"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from wasmesh.compose import app

        return getattr(app, name)
    raise AttributeError(f"module 'wasmesh.compose' has no attribute {name!r}")


__all__ = [
    "App",
    "AppPlan",
    "DirGrant",
    "Grants",
    "Link",
    "Manifest",
    "PlanError",
    "UnitPlan",
    "WiringError",
    "WiringGraph",
    "compose_unit",
    "default_host",
    "format_size",
    "load_manifest",
    "parse_manifest",
    "parse_size",
    "plan_app",
    "plan_units",
    "render_dot",
    "render_svg",
    "render_tree",
    "wire",
    "with_strategy",
]
