"""Serving an application's `[[triggers.http]]` routes: each route by the unit that holds its
component, under that unit's own policy (grants and limits), its calls into other units linked.

    app = App.load("examples/polyglot")
    server = Server({r.route: r.target for r in app_routes(app)}, "127.0.0.1:8080")
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from wasmesh.errors import ManifestError
from wasmesh.policy import Policy
from wasmesh.triggers.http.instances import PoolSettings, RouteTarget

if TYPE_CHECKING:
    from wasmesh.runtime.app import App


@dataclass(frozen=True)
class AppRoute:
    """One declared route, the component it names and the unit serving it."""

    route: str
    component: str
    unit: str
    target: RouteTarget


def route_policy(policy: Policy, request_timeout: float | None = None) -> Policy:
    """A unit's policy for its routes; `request_timeout` (seconds) overrides its `timeout`."""
    if request_timeout is None:
        return policy
    return replace(policy, limits=replace(policy.limits, timeout=request_timeout))


def app_routes(
    app: App, request_timeout: float | None = None, settings: PoolSettings | None = None
) -> list[AppRoute]:
    """Every HTTP route of `app`, in manifest order, its instances reused as `settings` say
    (default: a fresh one per request); a clear error when it declares none."""
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
            targets[plan.name] = RouteTarget(
                Path(path),
                route_policy(plan.policy, request_timeout),
                settings or PoolSettings(),
                capabilities=app.unit_capabilities(plan.name),
                name=plan.program,
                app=app.manifest.name,
            )
        routes.append(AppRoute(trigger.route, trigger.component, plan.name, targets[plan.name]))
    return routes
