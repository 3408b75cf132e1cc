"""Finding an export by the name a user writes.

`pkg:ns/iface@ver#func` names a function of an exported interface; `iface#func` and
`pkg:ns/iface#func` match whatever version is exported; a bare `func` works when exactly one
export (world-level, or inside any exported interface) has that name.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property

from wasmesh.engine.world import FuncItem, InterfaceItem, World
from wasmesh.errors import ExportNotFound
from wasmesh.names import InterfaceName


@dataclass(frozen=True)
class ExportTarget:
    """A resolved export function: its interface (None at world level) and signature."""

    interface: str | None
    func: FuncItem

    @cached_property
    def qualified(self) -> str:
        """`iface#func`, or `func` at world level (computed once: a call per instance asks)."""
        return f"{self.interface}#{self.func.name}" if self.interface else self.func.name


def all_targets(world: World) -> list[ExportTarget]:
    out: list[ExportTarget] = []
    for item in world.exports:
        if isinstance(item, FuncItem):
            out.append(ExportTarget(None, item))
        elif isinstance(item, InterfaceItem):
            out.extend(ExportTarget(item.name, f) for f in item.funcs)
    return out


def interface_matches(exported: str, wanted: str) -> bool:
    """Whether the exported interface `exported` is what a user's `wanted` names
    (`wasmesh.names.InterfaceName.matches`: package and version may be omitted)."""
    return InterfaceName.parse(exported).matches(InterfaceName.parse(wanted))


def resolve_export(world: World, target: str, label: str = "the component") -> ExportTarget:
    """The export function `target` names; a one-sentence error listing candidates otherwise."""
    targets = all_targets(world)
    if "#" in target:
        iface, _, func = target.rpartition("#")
        found = [
            t
            for t in targets
            if t.interface and interface_matches(t.interface, iface) and t.func.name == func
        ]
    else:
        found = [t for t in targets if t.func.name == target]
    if len(found) == 1:
        return found[0]
    names = [t.qualified for t in targets]
    if len(found) > 1:
        options = ", ".join(f"`{t.qualified}`" for t in found)
        raise ExportNotFound(f"`{target}` is ambiguous in {label}; name one of {options}.")
    close = difflib.get_close_matches(target, names, n=3, cutoff=0.5)
    if close:
        hint = "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
    elif names:
        shown = ", ".join(f"`{n}`" for n in names[:6])
        more = f" and {len(names) - 6} more" if len(names) > 6 else ""
        hint = f"it exports {shown}{more}."
    else:
        hint = "it exports no functions."
    raise ExportNotFound(f"{label} has no export `{target}`; {hint}")
