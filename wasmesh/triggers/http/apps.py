"""Serving an application's `[[triggers.http]]` routes: each route by the unit that holds its
component, under that unit's own grants and limits, its calls into other units linked.

    app = App.load("examples/polyglot")
    server = Server({r.route: r.target for r in app_routes(app)}, "127.0.0.1:8080")
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wasmesh.errors import ManifestError
from wasmesh.triggers.http.instances import PoolSettings, RouteTarget

if TYPE_CHECKING:
    from wasmesh.compose import App
    from wasmesh.compose.grants import Grants


@dataclass(frozen=True)
class AppRoute:
    """One declared route, the component it names and the unit serving it."""

    route: str
    component: str
    unit: str
    target: RouteTarget


def route_settings(grants: Grants, request_timeout: float | None = None) -> PoolSettings:
    """Instance settings from a unit's grants; `request_timeout` overrides its `timeout`."""
    inherited = [(k, os.environ[k]) for k in grants.env_inherit if k in os.environ]
    env = (*inherited, *grants.env)
    return PoolSettings(
        memory_limit=grants.memory_limit,
        allow_outbound=grants.outbound,
        env=env,
        request_timeout=request_timeout or grants.timeout,
        dirs=grants.dirs,
        fuel=grants.fuel,
    )


def app_routes(app: App, request_timeout: float | None = None) -> list[AppRoute]:
    """Every HTTP route of `app`, in manifest order; a clear error when it declares none."""
    triggers = app.manifest.http_triggers
    if not triggers:
        raise ManifestError(
            f"app `{app.manifest.name}` declares no HTTP routes; add a [[triggers.http]] table "
            'with `route = "/..."` and `component = "NAME"` to its wasmesh.toml.'
        )
    routes = []
    targets: dict[str, RouteTarget] = {}  # one per unit, so its routes share instances
    for trigger in triggers:
        plan = app.unit_of(trigger.component)
        if plan.name not in targets:
            path = app.units[plan.name].loaded.path
            assert path is not None  # units are always loaded from a file
            links = app.remote_links(plan.name)
            targets[plan.name] = RouteTarget(
                Path(path),
                route_settings(plan.grants, request_timeout),
                (links,) if links is not None else (),
            )
        routes.append(AppRoute(trigger.route, trigger.component, plan.name, targets[plan.name]))
    return routes
