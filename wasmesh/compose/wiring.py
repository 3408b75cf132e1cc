"""The wiring graph: which export, host interface or nothing satisfies each import.

An import is served by another component's export with the same interface name and a
compatible version (`wasmesh.names.compatible`), else by the host (`wasi:*`
and any names the host registers), else nothing. One provider wires itself; several need a
`[wiring]` rule. Every problem is found here, before anything is built into a unit or run:
missing and ambiguous providers, incompatible versions, different function types, cycles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from wasmesh import plugins
from wasmesh.compose.manifest import WiringRule
from wasmesh.compose.signatures import render_sig
from wasmesh.engine.world import FuncItem, InterfaceItem, World, WorldItem
from wasmesh.errors import LinkError
from wasmesh.names import InterfaceName, compatible


class WiringError(LinkError):
    """The components of an application cannot be wired together as declared."""


@dataclass(frozen=True)
class Link:
    """One import of `consumer`, satisfied by `provider`'s export `export` or by the host."""

    consumer: str
    import_name: str
    kind: Literal["component", "host"]
    provider: str | None = None
    export: str | None = None


@dataclass(frozen=True)
class WiringGraph:
    """Every component's world and how each of its imports is served."""

    worlds: Mapping[str, World]
    links: tuple[Link, ...]

    def links_of(self, consumer: str) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.consumer == consumer)

    def component_links(self) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.kind == "component")

    def has_handles(self, link: Link) -> bool:
        """Whether values crossing `link` may carry resource handles (own/borrow/streams)."""
        item = self.worlds[link.consumer].import_(link.import_name)
        if isinstance(item, FuncItem):
            return item.sig.has_handles
        return item is not None and (
            bool(item.resources) or any(f.sig.has_handles for f in item.funcs)
        )


def default_host(extra: Iterable[str] = ()) -> Callable[[str], bool]:
    """The host serves every interface a capability plug-in serves (`wasi:*`,
    `wasmcloud:messaging/consumer`, see `wasmesh.plugins`) plus the names in `extra`."""
    names = frozenset(extra)
    extra_unversioned = frozenset(InterfaceName.parse(n).unversioned for n in names)

    def provides(name: str) -> bool:
        return (
            plugins.host_serves(name)
            or name in names
            or InterfaceName.parse(name).unversioned in extra_unversioned
        )

    return provides


def wire(
    worlds: Mapping[str, World],
    rules: Iterable[WiringRule] = (),
    host: Callable[[str], bool] | None = None,
    where: Mapping[str, str] | None = None,
) -> WiringGraph:
    """Wire every import of every component in `worlds`, or raise `WiringError`.

    `where` maps component names to their place in the manifest (`wasmesh.toml:12`), which
    then starts the message of an error about that component's imports.
    """
    host = host or default_host()
    rules = tuple(rules)
    links: list[Link] = []
    for consumer, world in worlds.items():
        for item in world.imports:
            try:
                links.append(_satisfy(consumer, item, worlds, rules, host))
            except WiringError as exc:
                if where is None or consumer not in where or str(exc).startswith("wasmesh.toml"):
                    raise
                raise WiringError(f"{where[consumer]}: {exc}") from None
    for rule in rules:
        if not any(
            link.consumer == rule.consumer and _names_match(rule.import_name, link.import_name)
            for link in links
        ):
            raise WiringError(
                f"wasmesh.toml:{rule.line}: component `{rule.consumer}` imports no "
                f"`{rule.import_name}`; remove the rule or fix the interface name"
            )
    graph = WiringGraph(dict(worlds), tuple(links))
    _check_cycles(graph)
    return graph


def _names_match(rule_name: str, import_name: str) -> bool:
    return rule_name == import_name or rule_name == InterfaceName.parse(import_name).unversioned


def _exports_named(world: World, wanted: InterfaceName) -> list[WorldItem]:
    return [
        e for e in world.exports if InterfaceName.parse(e.name).unversioned == wanted.unversioned
    ]


def _satisfy(
    consumer: str,
    item: WorldItem,
    worlds: Mapping[str, World],
    rules: tuple[WiringRule, ...],
    host: Callable[[str], bool],
) -> Link:
    wanted = InterfaceName.parse(item.name)
    rule = next(
        (r for r in rules if r.consumer == consumer and _names_match(r.import_name, item.name)),
        None,
    )
    if rule is not None:
        offered = _exports_named(worlds[rule.provider], wanted)
        if not offered:
            raise WiringError(
                f"wasmesh.toml:{rule.line}: `{rule.provider}` exports no `{wanted.unversioned}` "
                f"for `{consumer}`; wire it to a component that exports it"
            )
        return _checked(consumer, item, rule.provider, offered[0])

    same_name = [
        (name, export)
        for name, world in worlds.items()
        if name != consumer
        for export in _exports_named(world, wanted)
    ]
    fitting = [(n, e) for n, e in same_name if compatible(wanted.version, _version(e.name))]
    if len(fitting) == 1:
        return _checked(consumer, item, *fitting[0])
    if len(fitting) > 1:
        choices = ", ".join(f"`{n}`" for n, _ in fitting)
        raise WiringError(
            f"`{consumer}` imports `{item.name}`, which {choices} all export; choose one in "
            f'[wiring], e.g. "{consumer}.{wanted.unversioned}" = "{fitting[0][0]}"'
        )
    if host(item.name):
        return Link(consumer, item.name, "host")
    if same_name:
        offers = ", ".join(f"`{n}` exports `{e.name}`" for n, e in same_name)
        raise WiringError(
            f"`{consumer}` imports `{item.name}` but {offers}, an incompatible version; "
            "rebuild one of them against the same major version (same minor for 0.x)"
        )
    raise WiringError(
        f"`{consumer}` imports `{item.name}`, which no component exports and the host does "
        "not provide; add a component exporting it to wasmesh.toml"
    )


def _version(name: str) -> str | None:
    return InterfaceName.parse(name).version


def _checked(consumer: str, item: WorldItem, provider: str, export: WorldItem) -> Link:
    """The link, after checking the export offers every function the import needs, same types."""
    if isinstance(item, FuncItem) or isinstance(export, FuncItem):
        if not (isinstance(item, FuncItem) and isinstance(export, FuncItem)):
            raise WiringError(
                f"`{consumer}` imports `{item.name}` as a "
                f"{'function' if isinstance(item, FuncItem) else 'interface'} but `{provider}` "
                "exports it as the other kind; make both sides agree in their WIT"
            )
        _compare(consumer, provider, item.name, item, export)
        return Link(consumer, item.name, "component", provider, export.name)
    assert isinstance(item, InterfaceItem) and isinstance(export, InterfaceItem)
    for func in item.funcs:
        offered = export.func(func.name)
        if offered is None:
            raise WiringError(
                f"`{consumer}` needs function `{func.name}` of `{item.name}` but `{provider}`'s "
                f"`{export.name}` has none; rebuild them against the same WIT"
            )
        _compare(consumer, provider, item.name, func, offered)
    return Link(consumer, item.name, "component", provider, export.name)


def _compare(consumer: str, provider: str, iface: str, wanted: FuncItem, got: FuncItem) -> None:
    if wanted.sig != got.sig:
        raise WiringError(
            f"`{wanted.name}` of `{iface}` has different types in `{consumer}` "
            f"({_render(wanted)}) and `{provider}` ({_render(got)}); rebuild both against "
            "the same WIT"
        )


def _render(func: FuncItem) -> str:
    return render_sig(func.sig)


def _check_cycles(graph: WiringGraph) -> None:
    edges: dict[str, list[str]] = {}
    for link in graph.component_links():
        assert link.provider is not None
        edges.setdefault(link.consumer, []).append(link.provider)
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise WiringError(
                    f"components import each other in a cycle ({' → '.join(cycle)}); "
                    "components are instantiated in order, so break the cycle by moving the "
                    "shared functions into a component of their own"
                )
            if state.get(nxt) is None:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph.worlds):
        if state.get(node) is None:
            visit(node)
