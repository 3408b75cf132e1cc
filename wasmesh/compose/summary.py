"""What each component of an app may use and what triggers it: for `inspect --app` and
`graph`.

Grants are listed generically, one entry per non-empty `wasmesh.policy.Grants` field, so a
new grant kind shows up without a change here. Environment values are not shown (only
names): they may hold secrets; config keys show their manifest text, secret ones masked
(`ConfigValue.shown`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from wasmesh.compose.manifest import Manifest, TriggerDecl
from wasmesh.compose.units import UnitPlan
from wasmesh.policy import ConfigValue, DirGrant, Grants, StoreGrant


def grant_values(grants: Grants) -> dict[str, list[str] | bool]:
    """Each granted kind (its manifest key) and what it grants, in the manifest's words."""
    out: dict[str, list[str] | bool] = {}
    for f in fields(Grants):
        value: Any = getattr(grants, f.name)
        if not value:
            continue
        key = f.name.replace("_", "-")
        if isinstance(value, bool):
            out[key] = value
        elif f.name == "env":
            out[key] = [name for name, _ in value]
        else:
            out[key] = [_text(v) for v in value]
    return out


def _text(value: Any) -> str:
    if isinstance(value, DirGrant):
        return f"{value.host}:{value.guest}" + ("" if value.writable else ":ro")
    if isinstance(value, ConfigValue):
        return f"{value.key} = {value.shown}"
    if isinstance(value, StoreGrant):
        return f"{value.name} ({value.backend})"
    return str(value)


def trigger_text(decl: TriggerDecl) -> str:
    """`messaging orders.* (queue-group workers, durable)`: a trigger in one line."""
    extra = [k if v is True else f"{k} {v}" for k, v in decl.options if v is not False]
    more = f" ({', '.join(extra)})" if extra else ""
    return f"{decl.kind} {decl.address}{more}"


def components(manifest: Manifest, plans: Sequence[UnitPlan]) -> list[dict[str, Any]]:
    """Per component: its unit, its grants and its triggers (JSON-ready)."""
    home = {c: plan.name for plan in plans for c in plan.components}
    return [
        {
            "component": spec.name,
            "unit": home.get(spec.name),
            "grants": grant_values(spec.policy.grants),
            "triggers": [
                {"kind": t.kind, "address": t.address, **{k: v for k, v in t.options}}
                for t in manifest.triggers
                if t.component == spec.name
            ],
        }
        for spec in manifest.components
    ]


def component_lines(manifest: Manifest, name: str) -> list[str]:
    """`grants: ...` and `trigger: ...` lines of one component (none when it has neither)."""
    spec = manifest.component(name)
    lines = []
    for key, value in grant_values(spec.policy.grants).items():
        shown = ", ".join(value) if isinstance(value, list) else "yes"
        lines.append(f"grant {key}: {shown}")
    lines += [f"trigger {trigger_text(t)}" for t in manifest.triggers if t.component == name]
    return lines
