"""Composition: an application's manifest, its wiring graph, and its deployment units.

    from wasmesh.compose import plan_app
    plan = plan_app("examples/polyglot")                       # [deploy] of the manifest
    plan_app("examples/polyglot", strategy="per-component")   # same app, one unit each

Running an app is the runtime's (`wasmesh.runtime.app.App`); this package only decides what
runs together and under which policy.

`load_manifest` reads `wasmesh.toml`; `wire` matches imports to exports and host interfaces;
`plan_units` groups components into units; `compose_unit` fuses a unit into one component
with an isolation adapter per member whose grants differ from the unit's; `render_tree`,
`render_dot` and `render_svg` draw the result.
"""

from __future__ import annotations

from wasmesh.compose.composer import compose_unit
from wasmesh.compose.graph import render_dot, render_svg, render_tree
from wasmesh.compose.manifest import Manifest, load_manifest, parse_manifest, with_strategy
from wasmesh.compose.plan import AppPlan, plan_app
from wasmesh.compose.units import PlanError, UnitPlan, plan_units
from wasmesh.compose.wiring import Link, WiringError, WiringGraph, default_host, wire
from wasmesh.sizes import format_size, parse_size

__all__ = [
    "AppPlan",
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
