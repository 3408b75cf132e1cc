"""`wasmesh graph`: the wiring of an application as a terminal tree, DOT, or SVG.

Units are outlined (a tree level in the terminal, a DOT cluster); links inside a unit are
composed calls, links between units are remote (dashed), host interfaces are listed per
component, with each component's grants and triggers. SVG needs `dot` from Graphviz.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from rich.markup import escape
from rich.tree import Tree

from wasmesh.compose.manifest import Manifest
from wasmesh.compose.summary import component_lines
from wasmesh.compose.units import UnitPlan
from wasmesh.compose.wiring import WiringGraph
from wasmesh.errors import WasmeshError
from wasmesh.names import InterfaceName


def render_tree(
    app_name: str, graph: WiringGraph, plans: Sequence[UnitPlan], manifest: Manifest | None = None
) -> Tree:
    """A rich `Tree`: app → units → components → their imports and where each is served, and
    (with `manifest`) each component's grants and triggers."""
    root = Tree(f"[bold]{app_name}[/]")
    for plan in plans:
        entries = ", ".join(plan.entries)
        unit = root.add(f"[bold cyan]unit {plan.name}[/] (entry [bold]{entries}[/])")
        for name in reversed(plan.components):  # the entry first, as a reader follows calls
            exports = ", ".join(e.name for e in graph.worlds[name].exports)
            node = unit.add(f"[bold]{name}[/] exports {exports or 'nothing'}")
            hosts = []
            for link in graph.links_of(name):
                if link.kind == "host":
                    hosts.append(InterfaceName.parse(link.import_name).unversioned.split("/")[0])
                elif link in plan.internal:
                    node.add(f"{link.import_name} → [green]{link.provider}[/] (composed)")
                else:
                    node.add(f"{link.import_name} → [yellow]{link.provider}[/] (remote unit)")
            if hosts:
                node.add(f"[dim]host: {', '.join(sorted(set(hosts)))}[/]")  # packages only
            for line in component_lines(manifest, name) if manifest is not None else ():
                node.add(f"[magenta]{escape(line)}[/]")
    return root


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dot(
    app_name: str, graph: WiringGraph, plans: Sequence[UnitPlan], manifest: Manifest | None = None
) -> str:
    """Graphviz DOT: one cluster per unit, an edge per component link, host in one node;
    (with `manifest`) each component's grants and triggers under its name."""
    lines = [
        f"digraph {_quote(app_name)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for index, plan in enumerate(plans):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={_quote('unit ' + plan.name)}; style=dashed;")
        for name in plan.components:
            bold = ", penwidth=2" if name in plan.entries else ""
            extra = component_lines(manifest, name) if manifest is not None else []
            label = '"' + "\\n".join(_quote(t)[1:-1] for t in [name, *extra]) + '"'
            lines.append(f"    {_quote(name)} [label={label}{bold}];")
        lines.append("  }")
    uses_host = False
    for link in graph.links:
        label = _quote(InterfaceName.parse(link.import_name).unversioned)
        if link.kind == "host":
            uses_host = True
            continue
        assert link.provider is not None
        remote = not any(link in plan.internal for plan in plans)
        style = ", style=dashed" if remote else ""
        lines.append(
            f"  {_quote(link.consumer)} -> {_quote(link.provider)} [label={label}{style}];"
        )
    if uses_host:
        lines.append('  "host" [shape=ellipse, label="host (wasi)"];')
        for consumer in sorted({link.consumer for link in graph.links if link.kind == "host"}):
            lines.append(f'  {_quote(consumer)} -> "host" [style=dotted, arrowhead=empty];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot: str) -> str:
    """SVG text for DOT source, drawn by Graphviz's `dot`."""
    exe = shutil.which("dot")
    if exe is None:
        raise WasmeshError(
            "SVG output needs `dot` from Graphviz; install it (apt-get install graphviz) or "
            "ask for --format dot"
        )
    proc = subprocess.run([exe, "-Tsvg"], input=dot, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise WasmeshError(f"dot could not draw the graph: {proc.stderr.strip()}")
    return proc.stdout
