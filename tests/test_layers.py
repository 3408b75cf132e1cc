"""The package's structure: no import cycles, one policy type, layers importing downwards.

Imports are read from the source (module level, outside `if TYPE_CHECKING:`); an import
inside a function runs late and cannot make a cycle at load time, so it is not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "wasmesh"

# Lower layers never import upper ones at module level (ARCHITECTURE.md's order, bottom up).
LAYERS = ["engine", "capabilities", "compose", "runtime", "triggers", "lattice", "cli"]
LEAVES = {"wasmesh.errors", "wasmesh.sizes", "wasmesh.names", "wasmesh.policy", "wasmesh.plugins"
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(tree: ast.Module, me: str, is_package: bool) -> set[str]:
    found: set[str] = set()
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and not _type_checking(node):
            stack += node.body + node.orelse
        elif isinstance(node, ast.Try):
            stack += node.body + node.orelse + node.finalbody
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = me.split(".") if is_package else me.split(".")[:-1]
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {name for name in found if name == "wasmesh" or name.startswith("wasmesh.")}


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        targets = _top_level_imports(tree, name, path.name == "__init__.py")
        edges: set[str] = set()
        for target in targets:
            # importing a.b.c runs a, a.b and a.b.c; `from a.b import c` may name a function
            parts = target.split(".")
            for i in range(2, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix in modules and prefix != name and not name.startswith(prefix + "."):
                    edges.add(prefix)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_layers_import_only_downwards() -> None:
    wrong: list[str] = []
    for module, targets in import_graph().items():
        if module in LEAVES:
            assert all(t in LEAVES for t in targets), f"{module} is a leaf but imports {targets}"
            continue
        layer = module.split(".")[1] if module.count(".") else ""
        if layer not in LAYERS:
            continue
        for target in targets:
            other = target.split(".")[1] if target.count(".") else ""
            if other in LAYERS and LAYERS.index(other) > LAYERS.index(layer):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "lower layers import upper ones: " + "; ".join(sorted(wrong))


def test_one_grants_class_and_one_limits_class() -> None:
    defined: dict[str, list[str]] = {"Grants": [], "Limits": [], "Policy": []}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name in defined:
                defined[node.name].append(module_name(path))
    assert defined == {"Grants": ["wasmesh.policy"], "Limits": ["wasmesh.policy"],
                       "Policy": ["wasmesh.policy"]}  # fmt: skip
