"""Fusing a deployment unit into one component with `wasm-tools compose`.

The unit's entry is the root of the composition (with several entries, a generated shell
re-exporting them is, see `wasmesh.compose.shell`); every other member is instantiated once
and passed to its consumers by an explicit instantiation graph (never by wasm-compose's
search by name), and members that must not see the host's WASI get their isolation adapter
(`wasmesh.compose.isolation`). Imports left over, the host's and other units', stay imports of
the composed component. The result is cached by the digests of every input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from wasmesh.build.cache import exclusive
from wasmesh.compose._tools import digest, run_wasm_tools, write_atomically
from wasmesh.compose.isolation import Adapter, build_adapter
from wasmesh.compose.shell import Shell, build_shell
from wasmesh.compose.units import UnitPlan
from wasmesh.engine.world import World


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compose_unit(
    plan: UnitPlan,
    paths: Mapping[str, Path],
    worlds: Mapping[str, World],
    cache: Path,
) -> Path:
    """The composed component of `plan` (members' built files in `paths`), cached under `cache`."""
    adapters: dict[str, Adapter] = {}
    for name, request in plan.isolation.items():
        imports = tuple(item.name for item in worlds[name].imports)
        adapter = build_adapter(imports, request, cache)
        if adapter is not None:
            adapters[name] = adapter
    if len(plan.components) == 1 and not adapters:
        return paths[plan.entry]
    shell = None
    if len(plan.entries) > 1:
        shell = build_shell([(e, paths[e], worlds[e]) for e in plan.entries], cache)
    root = shell.path if shell else paths[plan.entry]

    config = _config(plan, paths, adapters, shell)
    key = digest(
        json.dumps(config, sort_keys=True),
        file_digest(root),
        *(file_digest(paths[c]) for c in plan.components),
        *(file_digest(a.path) for a in adapters.values()),
    )
    out = cache / "units" / f"{plan.name}-{key[:24]}.wasm"
    if out.exists():
        return out
    with exclusive(out):  # one composer per output; the others wait and reuse it
        if out.exists():
            return out
        work = out.with_suffix(".d")
        work.mkdir(parents=True, exist_ok=True)
        # JSON is YAML: no YAML writer needed, and no quoting surprises in interface names
        (work / "compose.yml").write_text(json.dumps(config, indent=2))
        run_wasm_tools(
            ["compose", "-q", root.resolve(), "-c", "compose.yml", "-o", "unit.wasm"],
            f"composing unit `{plan.name}`",
            work,
        )
        write_atomically(out, (work / "unit.wasm").read_bytes())
    return out


ROOT = "root"  # the name wasm-compose gives the root instantiation


def _config(
    plan: UnitPlan, paths: Mapping[str, Path], adapters: Mapping[str, Adapter], shell: Shell | None
) -> dict[str, object]:
    dependencies: dict[str, str] = {}
    instantiations: dict[str, dict[str, object]] = {}
    if shell is not None:
        instantiations[ROOT] = {
            "arguments": {
                name: {"instance": entry, "export": name} for name, entry in shell.imports
            }
        }
    for name in plan.components:
        instance = ROOT if shell is None and name == plan.entry else name
        if instance != ROOT:
            dependencies[name] = str(paths[name].resolve())
        arguments: dict[str, object] = {}
        for link in plan.internal:
            if link.consumer == name:
                arguments[link.import_name] = {"instance": link.provider, "export": link.export}
        adapter = adapters.get(name)
        if adapter is not None:
            dependencies[f"isolation-{name}"] = str(adapter.path.resolve())
            for import_name, export in adapter.serves:
                arguments[import_name] = {"instance": f"isolation-{name}", "export": export}
        if arguments:
            instantiations[instance] = {"arguments": arguments}
    return {"dependencies": dependencies, "instantiations": instantiations}
