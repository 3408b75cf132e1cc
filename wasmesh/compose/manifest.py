"""`wasmesh.toml`: an application's components, their grants, wiring, triggers and units.

```toml
[app]
name = "shop"
version = "0.1.0"

[components.pricing]
source = "pricing"            # a .wasm file, a source directory built with `language`,
                              # or "oci://REGISTRY/REPO:TAG" / "...@sha256:DIGEST" (a tag is
                              # pinned to its digest in wasmesh.lock)
language = "python"           # python | js | c | wat
world = "pricing"
env = { CURRENCY = "EUR" }
memory-limit = "64MiB"

[wiring]
"pricing.shop:tax/rates" = "tax"  # consumer.import = provider, when auto-wiring is ambiguous

[[triggers.http]]                # also [[triggers.messaging]], [[triggers.cron]]
route = "/quote/..."
component = "pricing"

[deploy]
units = { front = ["pricing"], back = ["tax"] }   # or strategy = "monolith" | "per-component"
```

Every problem is a `ManifestError` naming the file, the line and the fix.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import tomlkit
import tomlkit.exceptions

from wasmesh import plugins
from wasmesh.compose._positions import Path_, Positions
from wasmesh.compose._reader import Reader
from wasmesh.compose.grants import GRANT_KEYS, read_policy
from wasmesh.compose.keyvalue import GRANT_KEY as KV_GRANT_KEY
from wasmesh.compose.keyvalue import bind_stores
from wasmesh.compose.messaging import check_repeated
from wasmesh.compose.variables import Variable, read_variables
from wasmesh.errors import ManifestError
from wasmesh.policy import Policy

Language = Literal["python", "js", "c", "wat"]
Strategy = Literal["monolith", "per-component"]

LANGUAGES: tuple[str, ...] = ("python", "js", "c", "wat", "go", "rust")
STRATEGIES: tuple[str, ...] = ("monolith", "per-component")
MONOLITH_UNIT = "main"

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
OCI_SCHEME = "oci://"


@dataclass(frozen=True)
class Source:
    """Where a component comes from: a built `.wasm`, or sources and how to build them."""

    path: Path
    language: Language | None = None
    world: str | None = None
    wit: Path | None = None
    adapter: Literal["reactor", "command", "none"] | None = None
    # toolchain options passed through to `wasmesh.build` (include, cflags, disable, entry...)
    options: tuple[tuple[str, Any], ...] = ()
    # `REGISTRY/REPO[:TAG][@DIGEST]` of a registry artifact; `path` is set once it is pulled
    oci: str | None = None

    @property
    def is_prebuilt(self) -> bool:
        return self.language is None


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    source: Source
    policy: Policy
    line: int = 0


@dataclass(frozen=True)
class WiringRule:
    """`"consumer.import" = "provider"`: an explicit choice of provider for one import."""

    consumer: str
    import_name: str
    provider: str
    line: int = 0


@dataclass(frozen=True)
class TriggerDecl:
    """One `[[triggers.<kind>]]` table: the trigger kind, its address (the value of the kind's
    key: an HTTP `route`), the component it calls, and its line in the manifest."""

    kind: str
    address: str
    component: str
    line: int = 0
    options: tuple[tuple[str, Any], ...] = ()  # the kind's other keys given (`queue-group`)

    def option(self, key: str, default: Any = None) -> Any:
        """The value of the table's key `key`, or `default`."""
        return dict(self.options).get(key, default)

    @property
    def route(self) -> str:
        """An HTTP trigger's route pattern."""
        return self.address


@dataclass(frozen=True)
class Unit:
    """Components deployed together as one composed component."""

    name: str
    components: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    version: str
    components: tuple[ComponentSpec, ...]
    wiring: tuple[WiringRule, ...] = ()
    triggers: tuple[TriggerDecl, ...] = ()
    units: tuple[Unit, ...] = ()
    strategy: str = "monolith"
    variables: tuple[Variable, ...] = ()
    positions: Positions | None = field(default=None, compare=False, repr=False)

    @property
    def http_triggers(self) -> tuple[TriggerDecl, ...]:
        """The `[[triggers.http]]` tables, in manifest order."""
        return tuple(t for t in self.triggers if t.kind == "http")

    @property
    def root(self) -> Path:
        return self.path.parent

    def component(self, name: str) -> ComponentSpec:
        for spec in self.components:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def where(self, path: Path_) -> str:
        """`wasmesh.toml:12` for the key at `path`, for messages about the manifest."""
        line = self.positions.line(path) if self.positions else None
        return f"{self.path.name}:{line}" if line else self.path.name


_COMPONENT_KEYS = ("source", "language", "world", "wit", "adapter", "build", *GRANT_KEYS,
                   KV_GRANT_KEY)  # fmt: skip


def with_strategy(manifest: Manifest, strategy: str) -> Manifest:
    """`manifest` deployed as one unit (`monolith`) or one unit per component instead."""
    names = tuple(c.name for c in manifest.components)
    if strategy == "monolith":
        units: tuple[Unit, ...] = (Unit(MONOLITH_UNIT, names),)
    elif strategy == "per-component":
        units = tuple(Unit(n, (n,)) for n in names)
    else:
        raise ManifestError(f'unknown strategy `{strategy}`; use "monolith" or "per-component"')
    return replace(manifest, units=units, strategy=strategy)


def load_manifest(path: str | Path) -> Manifest:
    """Read and check `wasmesh.toml` (or the `wasmesh.toml` inside a directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / "wasmesh.toml"
    try:
        text = path.read_text()
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror}; check the path") from None
    except UnicodeDecodeError:
        raise ManifestError(
            f"{path} is not a manifest (it is not text); give an app directory or its "
            "wasmesh.toml (a component file is run with `wasmesh serve` or `wasmesh invoke`)"
        ) from None
    return parse_manifest(text, path)


def parse_manifest(text: str, path: Path) -> Manifest:
    """Parse manifest text; `path` names the file in messages and anchors relative paths."""
    try:
        document = tomlkit.parse(text).unwrap()
    except tomlkit.exceptions.ParseError as exc:
        raise ManifestError(
            f"{path.name}:{exc.line}: not valid TOML ({str(exc).split(' at line')[0]}); "
            "fix the syntax"
        ) from None
    except tomlkit.exceptions.TOMLKitError as exc:
        raise _invalid_toml(text, path, exc) from None
    positions = Positions(text)
    reader = Reader(path, positions)
    top = reader.table(document, (), ("app", "variables", "components", "wiring", "triggers",
                                     "deploy", "key-value"))  # fmt: skip

    app = reader.table(top.get("app", {}), ("app",), ("name", "version"))
    if "name" not in app:
        raise reader.fail(("app",), '[app] needs `name = "..."`; add it')
    name = reader.typed(app["name"], ("app", "name"), str, "a string")
    version = reader.typed(app.get("version", "0.0.0"), ("app", "version"), str, "a string")

    raw_components = reader.typed(
        top.get("components", {}), ("components",), dict, "a table of [components.NAME]"
    )
    if not raw_components:
        raise reader.fail((), "no components; add a [components.NAME] table with `source`")
    variables = read_variables(reader, top.get("variables", {}))
    components = tuple(
        _component(reader, cname, body, path.parent, variables)
        for cname, body in raw_components.items()
    )
    components = bind_stores(reader, top.get("key-value", {}), raw_components, components,
                             path.parent, name)  # fmt: skip
    names = tuple(c.name for c in components)

    wiring = _wiring(reader, top.get("wiring", {}), names)
    triggers = _triggers(reader, top.get("triggers", {}), names)
    strategy, units = _deploy(reader, top.get("deploy", {}), names)
    return Manifest(
        path=path, name=name, version=version, components=components, wiring=wiring,
        triggers=triggers, units=units, strategy=strategy, variables=variables,
        positions=positions,
    )  # fmt: skip


def _invalid_toml(text: str, path: Path, exc: Exception) -> ManifestError:
    """A TOML error tomlkit reports without a line (a key given twice): the stdlib parser,
    which follows the same TOML 1.0 rules, finds the line."""
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as stdlib:
        found = re.search(r"^(.*) \(at line (\d+), column \d+\)$", str(stdlib))
        if found:
            return ManifestError(
                f"{path.name}:{found.group(2)}: not valid TOML ({found.group(1).lower()}: "
                f"{str(exc).rstrip('.')}); keep one"
            )
    return ManifestError(f"{path.name}: not valid TOML ({str(exc).rstrip('.')}); fix it")


def _component(
    reader: Reader, name: str, body: Any, root: Path, variables: tuple[Variable, ...]
) -> ComponentSpec:
    where: Path_ = ("components", name)
    if not _NAME.match(name):
        raise reader.fail(
            where, f"component name `{name}` must be lowercase letters, digits and dashes"
        )
    body = reader.table(body, where, _COMPONENT_KEYS)
    if "source" not in body:
        raise reader.fail(where, f"[components.{name}] needs `source`: a .wasm file or a directory")
    source_text = reader.path_string(body["source"], (*where, "source"))
    if source_text.startswith(OCI_SCHEME):
        return _oci_component(reader, name, body, root, source_text, variables)
    source_path = root / source_text
    language = body.get("language")
    if language is not None:
        reader.typed(language, (*where, "language"), str, "a string")
        if language not in LANGUAGES:
            raise reader.fail(
                (*where, "language"),
                f"unknown language `{language}`; use one of {', '.join(LANGUAGES)}",
            )
    elif source_path.suffix != ".wasm":
        raise reader.fail(
            (*where, "source"),
            f"`source` of [components.{name}] is not a .wasm file; "
            f'add `language = "python"|"js"|"c"|"wat"` to build it from source',
        )
    adapter = body.get("adapter")
    if adapter is not None and (language != "c" or adapter not in ("reactor", "command", "none")):
        raise reader.fail(
            (*where, "adapter"), '`adapter` applies to C components: "reactor", "command" or "none"'
        )
    options = reader.typed(body.get("build", {}), (*where, "build"), dict, "a table of options")
    wit = body.get("wit")
    source = Source(
        path=source_path,
        language=language,
        world=reader.typed(body["world"], (*where, "world"), str, "a string")
        if "world" in body
        else None,
        wit=root / reader.path_string(wit, (*where, "wit")) if wit is not None else None,
        adapter=adapter,
        options=tuple(sorted(options.items())),
    )
    policy = read_policy(reader, where, body, root, variables)
    return ComponentSpec(name, source, policy, _line(reader, where))


def _oci_component(
    reader: Reader, name: str, body: dict[str, Any], root: Path, text: str,
    variables: tuple[Variable, ...],
) -> ComponentSpec:
    """`source = "oci://REGISTRY/REPO:TAG"`: a built component in a registry."""
    from wasmesh.registry.errors import RegistryError
    from wasmesh.registry.reference import parse_reference

    where: Path_ = ("components", name)
    try:
        ref = parse_reference(text)
    except RegistryError as exc:
        raise reader.fail((*where, "source"), str(exc).rstrip(".")) from None
    for key in ("language", "world", "wit", "adapter", "build"):
        if key in body:
            raise reader.fail(
                (*where, key), f"`{key}` does not apply to a registry `source`; remove it"
            )
    source = Source(path=root / ".wasmesh" / "oci" / f"{name}.wasm", oci=str(ref))
    policy = read_policy(reader, where, body, root, variables)
    return ComponentSpec(name, source, policy, _line(reader, where))


def _line(reader: Reader, where: Path_) -> int:
    return reader.positions.line(where) or 0


def _reference(reader: Reader, where: Path_, value: Any, names: tuple[str, ...]) -> str:
    reader.typed(value, where, str, "a component name")
    if value not in names:
        guess = difflib.get_close_matches(value, names, n=1, cutoff=0.5)
        hint = f"did you mean `{guess[0]}`?" if guess else f"components: {', '.join(names)}"
        raise reader.fail(where, f"no component named `{value}`; {hint}")
    return str(value)


def _wiring(reader: Reader, raw: Any, names: tuple[str, ...]) -> tuple[WiringRule, ...]:
    raw = reader.typed(raw, ("wiring",), dict, "a table")
    rules = []
    for key, provider in raw.items():
        where: Path_ = ("wiring", key)
        consumer, _, import_name = key.partition(".")
        if not import_name:
            raise reader.fail(
                where,
                f'wiring key `{key}` must be "consumer.import", like "front.shop:tax/rates"',
            )
        _reference(reader, where, consumer, names)
        _reference(reader, where, provider, names)
        if consumer == provider:
            raise reader.fail(where, f"`{key}` wires `{consumer}` to itself; name another provider")
        rules.append(WiringRule(consumer, import_name, provider, _line(reader, where)))
    return tuple(rules)


def _triggers(reader: Reader, raw: Any, names: tuple[str, ...]) -> tuple[TriggerDecl, ...]:
    """Every `[[triggers.<kind>]]` table, of a kind `wasmesh.plugins.TRIGGERS` has."""
    raw = reader.typed(raw, ("triggers",), dict, "a table of trigger kinds")
    out: list[TriggerDecl] = []
    for kind in raw:
        entry_kind = plugins.trigger(kind)
        if entry_kind is None:
            known = ", ".join(t.kind for t in plugins.TRIGGERS)
            first = raw[kind][0] if isinstance(raw[kind], list) and raw[kind] else None
            raise reader.fail(
                ("triggers", kind, 0) if isinstance(first, dict) else ("triggers", kind),
                f"[[triggers.{kind}]] is not a trigger this wasmesh has (it has: {known}); "
                "remove the table",
            )
        key = entry_kind.keys[0]
        entries = reader.typed(
            raw.get(kind, []), ("triggers", kind), list, f"an array of tables ([[triggers.{kind}]])"
        )
        for index, entry in enumerate(entries):
            where: Path_ = ("triggers", kind, index)
            entry = reader.table(entry, where, (*entry_kind.keys, "component"))
            for needed in (key, "component"):
                if needed not in entry:
                    raise reader.fail(where, f"[[triggers.{kind}]] needs `{needed}`; add it")
            value = reader.typed(entry[key], (*where, key), str, "a string")
            component = _reference(reader, (*where, "component"), entry["component"], names)
            if kind == "http" and not value.startswith("/"):
                raise reader.fail((*where, key), f"route `{value}` must start with `/`")
            if entry_kind.check is not None:
                plugins.load_factory(entry_kind.check)(reader, where, entry)
            options = tuple((k, entry[k]) for k in entry_kind.keys[1:] if k in entry)
            decl = TriggerDecl(kind, value, component, _line(reader, where), options)
            check_repeated(reader, where, decl, out)
            out.append(decl)
    return tuple(out)



def _deploy(reader: Reader, raw: Any, names: tuple[str, ...]) -> tuple[str, tuple[Unit, ...]]:
    raw = reader.table(raw, ("deploy",), ("strategy", "units"))
    if "units" in raw and "strategy" in raw:
        raise reader.fail(
            ("deploy", "strategy"), "[deploy] takes `units` or `strategy`, not both; remove one"
        )
    if "units" not in raw:
        strategy = reader.typed(
            raw.get("strategy", "monolith"), ("deploy", "strategy"), str, "a string"
        )
        if strategy not in STRATEGIES:
            raise reader.fail(
                ("deploy", "strategy"),
                f'unknown strategy `{strategy}`; use "monolith", "per-component" or `units`',
            )
        if strategy == "monolith":
            return strategy, (Unit(MONOLITH_UNIT, names),)
        return strategy, tuple(Unit(n, (n,)) for n in names)
    units_raw = reader.typed(raw["units"], ("deploy", "units"), dict, "a table of lists")
    units: list[Unit] = []
    placed: dict[str, str] = {}
    for unit, members in units_raw.items():
        where: Path_ = ("deploy", "units", unit)
        for member in reader.strings(members, where):
            _reference(reader, where, member, names)
            if member in placed:
                raise reader.fail(
                    where,
                    f"component `{member}` is in units `{placed[member]}` and `{unit}`; "
                    "keep it in one",
                )
            placed[member] = unit
        units.append(Unit(unit, tuple(members)))
    missing = [n for n in names if n not in placed]
    if missing:
        raise reader.fail(
            ("deploy", "units"),
            f"component `{missing[0]}` is in no unit; add it to one of [deploy] units",
        )
    return "units", tuple(units)
