"""`wasi:config/store` (and its earlier name `wasi:config/runtime`): a component's config keys.

A component reads only the keys its policy grants (`Grants.config`, from
`[components.NAME.config]`); any other key is absent (`ok(none)`), never an error, as the
WASI config proposal specifies for a key that is not set. Served versions, each as its
peers import it:

| import | imported by |
|---|---|
| `wasi:config/store@0.2.0-draft-2024-09-27` | Spin 3 (the Spin SDKs) |
| `wasi:config/store@0.2.0-draft` | wasmCloud 1.1 and later |
| `wasi:config/runtime@0.2.0-draft` | wasmCloud before the interface was renamed |

The interface, as the wasi-config proposal defines it (`runtime` names the error
`config-error`):

    variant error { upstream(string), io(string) }
    get: func(key: string) -> result<option<string>, error>;
    get-all: func() -> result<list<tuple<string, string>>, error>;

A value that arrives without its text (a secret, carried to a lattice host as its template,
see `wasmesh.compose.variables`) is completed here from this host's `WASMESH_VAR_<NAME>`
environment variables when the runner is made; one that cannot be raises `ConfigError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from wasmtime import component as wc

from wasmesh.capabilities.base import HostCapability, Setup
from wasmesh.engine.calls import define_func
from wasmesh.engine.values import Ok
from wasmesh.engine.world import InterfaceItem
from wasmesh.errors import LinkError, WasmeshError
from wasmesh.policy import ConfigValue, Policy

PREFIXES = ("wasi:config/store@0.2.", "wasi:config/runtime@0.2.")
ENV_PREFIX = "WASMESH_VAR_"
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


class ConfigError(WasmeshError):
    """A config value this host cannot complete (a variable it does not have)."""


def placeholders(template: str) -> list[str]:
    """The variable names `{{ name }}` placeholders of `template` use, in order."""
    return _PLACEHOLDER.findall(template)


def stray_braces(template: str) -> str | None:
    """`"{{"` or `"}}"` if `template` has one outside a whole `{{ name }}` placeholder.

    Such a template is refused, not taken as literal text, as Spin refuses it.
    """
    rest = _PLACEHOLDER.sub("", template)
    for brace in ("{{", "}}"):
        if brace in rest:
            return brace
    return None


def substitute(template: str, values: Mapping[str, str]) -> str:
    """`template` with each placeholder whose variable is in `values` replaced."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def resolve_on_host(entry: ConfigValue, environ: Mapping[str, str] | None = None) -> str:
    """The text of `entry`: its value, or its template completed from this host's
    `WASMESH_VAR_<NAME>` variables; `ConfigError` naming the first one not set."""
    if entry.value is not None:
        return entry.value
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for name in placeholders(entry.template):
        env_name = ENV_PREFIX + name.upper()
        if env_name not in environ:
            raise ConfigError(
                f"config `{entry.key}` needs variable `{name}`, which is not set on this host; "
                f"set {env_name} in the host's environment."
            )
        values[name] = environ[env_name]
    return substitute(entry.template, values)


class Config(HostCapability):
    """Serves `wasi:config/store` and `wasi:config/runtime` 0.2 drafts for one component."""

    name = "wasi-config"

    def __init__(self, setup: Setup) -> None:
        self.world = setup.loaded.world
        self.values: dict[str, str] = {}

    def provides(self, import_name: str) -> bool:
        return import_name.startswith(PREFIXES)

    def configure(self, policy: Policy) -> None:
        """Complete every granted value now, so a missing variable stops the unit's start."""
        self.values = {entry.key: resolve_on_host(entry) for entry in policy.grants.config}

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        with linker.root() as root:
            for name in import_names:
                item = self.world.import_(name)
                funcs = {
                    fname: item.func(fname) if isinstance(item, InterfaceItem) else None
                    for fname in ("get", "get-all")
                }
                with root.add_instance(name) as instance:
                    for fname, impl in (("get", self.get), ("get-all", self.get_all)):
                        func = funcs[fname]
                        if func is None:
                            raise LinkError(
                                f"the component's {name} has no `{fname}` function to serve."
                            )
                        define_func(instance, fname, func.sig, impl, label=f"{name}#{fname}")

    def get(self, key: str) -> Any:
        """`ok(some(value))` for a granted key, `ok(none)` for any other."""
        return Ok(self.values.get(key))

    def get_all(self) -> Any:
        """`ok` of every granted key and value, in manifest order."""
        return Ok(list(self.values.items()))
