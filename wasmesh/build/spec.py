"""What to build: a component's language, source, WIT world and toolchain options.

A `ComponentSpec` comes from a ``[components.NAME]`` table of ``wasmesh.toml`` or from a
``guest.toml`` file (``language``, ``world``, optional ``wit`` (default ``"wit"``), optional
``source`` (default: the directory holding the file), any other key is a toolchain option such
as ``adapter``, ``cflags``, ``include``, ``app``, ``entry``, ``file``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wasmesh.build.c import CToolchain
from wasmesh.build.go import GoToolchain
from wasmesh.build.js import JsToolchain
from wasmesh.build.python import PythonToolchain
from wasmesh.build.rust import RustToolchain
from wasmesh.build.toolchain import BuildResult, Toolchain
from wasmesh.build.wat import WatToolchain
from wasmesh.errors import BuildError

TOOLCHAINS: dict[str, type[Toolchain]] = {
    t.language: t
    for t in (PythonToolchain, JsToolchain, CToolchain, WatToolchain, GoToolchain, RustToolchain)
}
# Spellings people use for the same language.
_ALIASES = {"py": "python", "javascript": "js", "ts": "js", "golang": "go", "rs": "rust"}


def toolchain_for(language: str) -> Toolchain:
    """The toolchain building ``language`` (python, js, c, wat, go, rust)."""
    lang = _ALIASES.get(language.lower(), language.lower())
    if lang not in TOOLCHAINS:
        raise BuildError(
            f"no toolchain for language {language!r}; use one of {', '.join(sorted(TOOLCHAINS))}"
        )
    return TOOLCHAINS[lang]()


@dataclass(frozen=True)
class ComponentSpec:
    """A buildable component: where its sources are and which world it targets."""

    name: str
    language: str
    source_dir: Path
    world: str
    wit_dir: Path | None
    options: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_table(cls, name: str, table: Mapping[str, object], base: Path) -> ComponentSpec:
        """A spec from a TOML table whose relative paths are relative to ``base``."""
        rest = dict(table)
        language = rest.pop("language", None)
        world = rest.pop("world", None)
        if not isinstance(language, str) or not isinstance(world, str):
            raise BuildError(
                f"component {name!r} needs language and world strings; add them to its table"
            )
        source_dir = (base / str(rest.pop("source", "."))).resolve()
        wit = rest.pop("wit", "wit")
        wit_dir = (source_dir / str(wit)).resolve()
        return cls(name, language, source_dir, world, wit_dir if wit_dir.exists() else None, rest)

    def build(
        self, out_path: Path, *, quiet: bool = False, store: Path | None = None
    ) -> BuildResult:
        """Build this component into ``out_path`` (a no-op when it is up to date; copied from
        the shared ``store`` when built there before)."""
        return toolchain_for(self.language).build(
            self.source_dir,
            out_path,
            self.world,
            self.wit_dir,
            name=self.name,
            options=self.options,
            quiet=quiet,
            store=store,
        )


def load_guest(guest_dir: Path) -> ComponentSpec:
    """The spec in ``guest_dir/guest.toml``, named after the directory."""
    path = guest_dir / "guest.toml"
    try:
        table = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise BuildError(
            f"{path} does not exist; add a guest.toml with language and world"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{path} is not valid TOML ({exc}); fix its syntax") from None
    return ComponentSpec.from_table(guest_dir.name, table, guest_dir)
