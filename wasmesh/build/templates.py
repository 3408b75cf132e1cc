"""Scaffolding a new component: `wasmesh new NAME --lang python|js|c|go|rust`.

Writes a component directory holding a WIT world (package ``NAME:component@0.1.0``, interface
``greeter`` with ``greet: func(name: string) -> string``, world ``NAME`` exporting it) and a
source file implementing it, from the templates under ``templates/``. Returns the
``[components.NAME]`` table to add to ``wasmesh.toml``.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from wasmesh.errors import WasmeshError

LANGUAGES = ("python", "js", "c", "go", "rust")

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

# Items the WIT template declares next to the world; a world of the same name would clash.
_TEMPLATE_ITEMS = frozenset({"greeter"})

# Toolchain options each language's snippet carries beyond source/language/world/wit.
_EXTRA_OPTIONS = {"c": {"adapter": "reactor"}}


class ScaffoldError(WasmeshError):
    """A new component cannot be created (bad name, unknown language, directory in use)."""


def _templates() -> Traversable:
    return resources.files("wasmesh.build") / "templates"


def scaffold(name: str, lang: str, dest: Path, *, manifest_dir: Path | None = None) -> str:
    """Create component ``name`` in language ``lang`` under directory ``dest``.

    Returns the manifest snippet; its ``source`` is relative to ``manifest_dir`` when given
    (the directory of ``wasmesh.toml``), else ``dest`` as passed.
    """
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
    if lang not in LANGUAGES:
        raise ScaffoldError(f"no template for language {lang!r}; use one of {', '.join(LANGUAGES)}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ScaffoldError(f"{dest} already exists and is not empty; choose another directory")
    _copy_tree(_templates() / "wit", dest / "wit", name)
    _copy_tree(_templates() / lang, dest, name)
    source = os.path.relpath(dest, manifest_dir) if manifest_dir is not None else str(dest)
    return manifest_snippet(name, lang, Path(source))


def manifest_snippet(name: str, lang: str, source: Path) -> str:
    """The ``[components.NAME]`` table for a scaffolded component at ``source``."""
    lines = [
        f"[components.{name}]",
        f'source = "{source.as_posix()}"',
        f'language = "{lang}"',
        f'world = "{world_name(name)}"',
        f'wit = "{(source / "wit").as_posix()}"',  # manifest paths are relative to the manifest
        *(f'{key} = "{value}"' for key, value in _EXTRA_OPTIONS.get(lang, {}).items()),
    ]
    return "\n".join(lines) + "\n"


def world_name(name: str) -> str:
    """The scaffolded world's name: the component's, unless the template declares an item
    of that name (a WIT package cannot hold two items of one name)."""
    return f"{name}-world" if name in _TEMPLATE_ITEMS else name


def _copy_tree(src: Traversable, dest: Path, name: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        if item.name.startswith((".", "__")):
            continue
        if item.is_dir():
            _copy_tree(item, dest / item.name, name)
        else:
            # Python sources ship as .tmpl so type checkers and linters leave them alone.
            target = dest / item.name.removesuffix(".tmpl")
            text = item.read_text().replace("{{name_snake}}", name.replace("-", "_"))
            text = text.replace("{{world}}", world_name(name))
            target.write_text(text.replace("{{name}}", name))
