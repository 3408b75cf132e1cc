"""Scaffolding a new component: `wasmesh new NAME --lang LANG --template KIND`.

Each template is a directory under ``templates/`` holding a WIT world (``wit/``, package
``NAME:component@0.1.0``, world ``NAME``) and one source directory per language implementing
it:

- ``greeter`` (the default): interface ``greeter`` with ``greet: func(name: string) -> string``,
  called with ``wasmesh invoke``; python, js, c, go, rust, wat.
- ``http``: a ``wasi:http/proxy`` component answering every request, with a
  ``[[triggers.http]]`` route ``/NAME/...`` so ``wasmesh up`` serves it; python, js, c.
- ``library``: interface ``text`` (a record and a function over strings) meant to be imported
  by other components; python, js, c.

C sources use bindings that ``wit-bindgen c`` generates from the WIT at each build
(``bindings = "wit-bindgen"``), so a WIT change needs no hand-written glue. `scaffold` returns
the ``wasmesh.toml`` tables to add.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from wasmesh.errors import WasmeshError

LANGUAGES = ("python", "js", "c", "go", "rust", "wat")

# A WIT identifier: lowercase words joined by single dashes, each starting with a letter.
_WIT_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$")

# WIT keywords (wit-parser's lexer, component model WIT.md): a bare name cannot be one.
WIT_KEYWORDS = frozenset({
    "_", "as", "async", "bool", "borrow", "char", "constructor", "enum", "error-context",
    "export", "f32", "f64", "flags", "float32", "float64", "from", "func", "future", "import",
    "include", "interface", "list", "option", "own", "package", "record", "resource", "result",
    "s16", "s32", "s64", "s8", "static", "stream", "string", "tuple", "type", "u16", "u32",
    "u64", "u8", "use", "variant", "with", "world",
})  # fmt: skip


@dataclass(frozen=True)
class Template:
    """One kind of scaffolded component."""

    name: str
    summary: str
    languages: tuple[str, ...]
    # Items the WIT declares next to the world; a world of the same name would clash.
    items: frozenset[str]
    # What to type next; {name} is the component's name, {export} the function to invoke.
    next_step: str
    # The function `next_step` invokes, as `INTERFACE#FUNCTION` of the component's package.
    export: str = ""

    def next_command(self, name: str, alone: bool) -> str:
        """`next_step` for component `name`; `export` is qualified unless the component is
        `alone` in its app (another component may export a function of the same name)."""
        function = self.export.partition("#")[2]
        export = function if alone else f"{name}:component/{self.export}"
        return self.next_step.format(name=name, export=export)


TEMPLATES = {
    t.name: t
    for t in (
        Template(
            "greeter",
            "one exported function, called with `wasmesh invoke`",
            LANGUAGES,
            frozenset({"greeter"}),
            "wasmesh build && wasmesh invoke --app . {export} '\"you\"'",
            "greeter#greet",
        ),
        Template(
            "http",
            "a wasi:http handler, served by `wasmesh up` on /NAME/...",
            ("python", "js", "c"),
            frozenset(),
            "wasmesh build && wasmesh up   # then: curl localhost:8080/{name}/",
        ),
        Template(
            "library",
            "an interface with a record type, for other components to import",
            ("python", "js", "c"),
            frozenset({"text"}),
            "wasmesh build && wasmesh invoke --app . {export} '\"two words\"'",
            "text#count",
        ),
    )
}
DEFAULT_TEMPLATE = "greeter"

# Lines each language's table carries beyond source/language/world/wit.
_EXTRA_LINES = {"c": ('adapter = "reactor"', 'build = { bindings = "wit-bindgen" }')}


class ScaffoldError(WasmeshError):
    """A new component cannot be created (bad name, unknown language, directory in use)."""


# A component's name names its directory, files (NAME.wasm, NAME-world) and WIT package: far
# below the 255 bytes a file name may have.
MAX_NAME = 64


def _templates() -> Traversable:
    return resources.files("wasmesh.build") / "templates"


def check_name(name: str) -> None:
    """Raise `ScaffoldError` unless ``name`` can name a component (a WIT identifier that is
    not a WIT keyword, short enough to name its directory and WIT package)."""
    if len(name) > MAX_NAME:
        raise ScaffoldError(
            f"the component name {name[:20]!r}... is {len(name)} characters long; use at most "
            f"{MAX_NAME}"
        )
    if not _WIT_NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not a valid component name; use lowercase words joined by dashes, "
            "like my-service"
        )
    if name in WIT_KEYWORDS:
        raise ScaffoldError(
            f"{name!r} is a WIT keyword and cannot name a component; choose another name, "
            f"like my-{name}"
        )


def template_for(template: str, lang: str) -> Template:
    """The template ``template`` after checking it exists in language ``lang``."""
    if lang not in LANGUAGES:
        raise ScaffoldError(f"no template for language {lang!r}; use one of {', '.join(LANGUAGES)}")
    if template not in TEMPLATES:
        raise ScaffoldError(
            f"no template {template!r}; use one of {', '.join(TEMPLATES)} "
            "(`wasmesh new --list` shows them)"
        )
    found = TEMPLATES[template]
    if lang not in found.languages:
        raise ScaffoldError(
            f"the {template} template has no {lang} version; use one of "
            f"{', '.join(found.languages)} (`wasmesh new --list` shows them)"
        )
    return found


def scaffold(
    name: str,
    lang: str,
    dest: Path,
    *,
    manifest_dir: Path | None = None,
    template: str = DEFAULT_TEMPLATE,
) -> str:
    """Create component ``name`` in language ``lang`` from ``template`` under directory ``dest``.

    Returns the manifest tables; ``source`` is relative to ``manifest_dir`` when given (the
    directory of ``wasmesh.toml``), else ``dest`` as passed.
    """
    check_name(name)
    kind = template_for(template, lang)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ScaffoldError(f"{dest} already exists and is not empty; choose another directory")
    root = _templates() / kind.name
    world = world_name(name, kind)
    _copy_tree(root / "wit", dest / "wit", name, world)
    _copy_tree(root / lang, dest, name, world)
    source = os.path.relpath(dest, manifest_dir) if manifest_dir is not None else str(dest)
    return manifest_snippet(name, lang, Path(source), kind)


def manifest_snippet(
    name: str, lang: str, source: Path, template: Template = TEMPLATES[DEFAULT_TEMPLATE]
) -> str:
    """The ``[components.NAME]`` table (and the HTTP route of an ``http`` component) for a
    scaffolded component at ``source``."""
    lines = [
        f"[components.{name}]",
        f'source = "{source.as_posix()}"',
        f'language = "{lang}"',
        f'world = "{world_name(name, template)}"',
        f'wit = "{(source / "wit").as_posix()}"',  # manifest paths are relative to the manifest
        *_EXTRA_LINES.get(lang, ()),
    ]
    if template.name == "http":
        lines += ["", "[[triggers.http]]", f'route = "/{name}/..."', f'component = "{name}"']
    return "\n".join(lines) + "\n"


def world_name(name: str, template: Template = TEMPLATES[DEFAULT_TEMPLATE]) -> str:
    """The scaffolded world's name: the component's, unless the template declares an item
    of that name (a WIT package cannot hold two items of one name)."""
    return f"{name}-world" if name in template.items else name


def _copy_tree(src: Traversable, dest: Path, name: str, world: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        if item.name.startswith((".", "__")):
            continue
        if item.is_dir():
            _copy_tree(item, dest / item.name, name, world)
        else:
            # Python sources ship as .tmpl so type checkers and linters leave them alone.
            target = dest / item.name.removesuffix(".tmpl")
            text = item.read_text().replace("{{name_snake}}", name.replace("-", "_"))
            text = text.replace("{{world_snake}}", world.replace("-", "_"))
            text = text.replace("{{world}}", world)
            target.write_text(text.replace("{{name}}", name))
