"""App variables and per-component config: `[variables]` and `[components.NAME.config]`.

```toml
[variables]
greeting = { default = "hello" }
db_password = { required = true, secret = true }

[components.api.config]
greeting = "{{ greeting }}, world"       # literal text with `{{ variable }}` placeholders
dsn = "postgres://app:{{ db_password }}@db/app"
```

A variable is lowercase letters, digits and underscores (Spin's rule); it has a `default` or
is `required`, not both. Its value is, last one winning: the manifest's default, the
environment variable `WASMESH_VAR_<NAME>` (upper case), the `--variables-file` (dotenv, read
with python-dotenv; keys are variable names or `WASMESH_VAR_<NAME>`). A missing required
variable stops the app before anything is built. A config value that uses a secret variable
is secret: masked wherever it is shown, and carried to lattice hosts as its template only,
which each host resolves from its own `WASMESH_VAR_<NAME>`
(`wasmesh.capabilities.config.resolve_on_host`).
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wasmesh.capabilities.config import ENV_PREFIX, placeholders, stray_braces, substitute
from wasmesh.compose._positions import Path_
from wasmesh.compose._reader import Reader
from wasmesh.errors import ManifestError
from wasmesh.policy import ConfigValue, Policy

if TYPE_CHECKING:
    from wasmesh.compose.manifest import Manifest

_VARIABLE = re.compile(r"^[a-z][a-z0-9_]*$")


class VariableError(ManifestError):
    """A variable that is missing or cannot be read (exit 2)."""


@dataclass(frozen=True)
class Variable:
    """One `[variables]` entry."""

    name: str
    default: str | None = None
    required: bool = False
    secret: bool = False

    @property
    def env_name(self) -> str:
        return ENV_PREFIX + self.name.upper()


def read_variables(reader: Reader, raw: Any) -> tuple[Variable, ...]:
    """The `[variables]` table."""
    raw = reader.typed(raw, ("variables",), dict, "a table of variables")
    out = []
    for name, body in raw.items():
        where: Path_ = ("variables", name)
        if not _VARIABLE.match(name):
            raise reader.fail(
                where, f"variable name `{name}` must be lowercase letters, digits and underscores"
            )
        body = reader.table(body, where, ("default", "required", "secret"))
        default = body.get("default")
        if default is not None:
            reader.typed(default, (*where, "default"), str, "a string")
        required = reader.typed(
            body.get("required", False), (*where, "required"), bool, "true or false"
        )
        secret = reader.typed(body.get("secret", False), (*where, "secret"), bool, "true or false")
        if required == (default is not None):
            raise reader.fail(
                where, f"variable `{name}` needs a `default` or `required = true` (one of them)"
            )
        out.append(Variable(name, default, required, secret))
    return tuple(out)


def read_config(
    reader: Reader, where: Path_, raw: Any, variables: tuple[Variable, ...]
) -> tuple[ConfigValue, ...]:
    """A component's `config` table: key → template naming only declared variables."""
    where = (*where, "config")
    raw = reader.typed(raw, where, dict, "a table of strings")
    known = {v.name: v for v in variables}
    out = []
    for key, template in raw.items():
        reader.typed(template, (*where, key), str, "a string")
        brace = stray_braces(template)
        if brace is not None:
            other = "}}" if brace == "{{" else "{{"
            raise reader.fail(
                (*where, key),
                f"config `{key}` has a `{brace}` without its `{other}`; write a placeholder as "
                "`{{ name }}`",
            )
        names = placeholders(template)
        for name in names:
            if name not in known:
                raise reader.fail(
                    (*where, key),
                    f"config `{key}` uses `{{{{ {name} }}}}`, which [variables] does not "
                    "declare; add it there",
                )
        secret = any(known[n].secret for n in names)
        out.append(ConfigValue(key, template, None if names else template, secret))
    return tuple(out)


def variable_values(
    variables: tuple[Variable, ...],
    variables_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Each variable's value: default, then `WASMESH_VAR_<NAME>`, then `variables_file`.

    Raises `VariableError` naming the first required variable left without a value, or a
    variables file that cannot be read or has a malformed line. A name in the file that
    no variable declares is a one-line warning on stderr.
    """
    environ = os.environ if environ is None else environ
    from_file = _read_file(variables_file) if variables_file is not None else {}
    declared = {key for var in variables for key in (var.name, var.env_name)}
    for key in from_file:
        if key not in declared:
            print(
                f"warning: the variables file {variables_file} sets `{key}`, which [variables] "
                "does not declare; it is ignored.",
                file=sys.stderr,
            )
    values: dict[str, str] = {}
    for var in variables:
        if var.default is not None:
            values[var.name] = var.default
        if var.env_name in environ:
            values[var.name] = environ[var.env_name]
        for key in (var.name, var.env_name):
            if key in from_file:
                values[var.name] = from_file[key]
        if var.name not in values:
            fix = f"a line `{var.name}=...` in {variables_file}" if variables_file else None
            fix = fix or "--variables-file FILE"
            raise VariableError(
                f"variable `{var.name}` is required and has no value; set {var.env_name} or "
                f"give it with {fix}."
            )
    return values


def _read_file(path: Path) -> dict[str, str]:
    """The bindings of the dotenv file `path`, read with python-dotenv's parser.

    Raises `VariableError` for a path that is not a file, cannot be read, or has a line
    that is not `NAME=value` (named with its line number).
    """
    from dotenv.parser import parse_stream

    if not path.exists():
        raise VariableError(f"the variables file {path} does not exist; fix --variables-file.")
    if not path.is_file():
        raise VariableError(f"the variables file {path} is not a file; fix --variables-file.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VariableError(f"the variables file {path} cannot be read ({exc}).") from None
    out: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.value is None):
            # the line's text is not repeated: it may hold a secret
            raise VariableError(
                f"the variables file {path} line {binding.original.line} is not `NAME=value`; "
                "fix or remove that line."
            )
        if binding.key is not None and binding.value is not None:
            out[binding.key] = binding.value
    return out


def resolve_manifest(
    manifest: Manifest,
    variables_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Manifest:
    """`manifest` with every component's config values resolved from its variables."""
    values = variable_values(manifest.variables, variables_file, environ)
    secret = {v.name for v in manifest.variables if v.secret}
    public = {k: v for k, v in values.items() if k not in secret}
    components = []
    for spec in manifest.components:
        grants = spec.policy.grants
        if not grants.config:
            components.append(spec)
            continue
        # a secret keeps, as its template, the text with only the public variables filled in:
        # what the lattice carries (`Policy.to_json`) and each host completes
        config = tuple(
            replace(c, template=substitute(c.template, public) if c.secret else c.template,
                    value=substitute(c.template, values))
            for c in grants.config
        )  # fmt: skip
        policy = Policy(replace(grants, config=config), spec.policy.limits)
        components.append(replace(spec, policy=policy))
    return replace(manifest, components=tuple(components))
