"""What one request of an app is, for the cost report: its load, read and driven.

A load is a list of requests, each one line of text:

    POST /quote/fr [{"sku": "tea", "quantity": 3, "unit-cents": 450}]   # HTTP: METHOD PATH [BODY]
    GET /quote/health
    POST /upload @order.json          # the body is the file, relative to the load file
    quote([{sku: "tea", quantity: 3, unit-cents: 450}], "fr")           # an export, as `invoke`

An HTTP line is a method in capitals, a path starting with `/` and optionally a body (the rest
of the line); it is sent over loopback to the app's `[[triggers.http]]` routes. Any other line
is a call of an export written as `wasmesh invoke --app` takes it (`name(args)` in WAVE).
Blank lines and lines starting with `#` are skipped.

`read_load` takes a text file of such lines, or a Python script defining `requests()` that
returns an iterable of them (to generate a load). Without a file it reads `wasmesh-load.txt`
beside the manifest, else sends `GET` to each HTTP route.
"""

from __future__ import annotations

import runpy
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wasmesh.compose.manifest import Manifest
from wasmesh.engine.codec.wave import parse_call
from wasmesh.errors import WasmeshError

DEFAULT_LOAD = "wasmesh-load.txt"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class LoadError(WasmeshError):
    """A load file or script that does not describe requests."""


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request to the app's routes: method, path (with query) and body bytes."""

    method: str
    path: str
    body: bytes = b""

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Invocation:
    """One call of an app export: its name and its arguments as WAVE or JSON text."""

    export: str
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.export}({', '.join(self.args)})"


Request = HttpRequest | Invocation


def read_load(load: Path | None, manifest: Manifest) -> tuple[Request, ...]:
    """The requests `load` describes (see the module docstring), or the app's default load.

    Raises `LoadError` naming the file (and line) when it cannot be read or a line is neither
    an HTTP request nor a call, and when the app gives no way to make a request.
    """
    if load is None:
        default = manifest.root / DEFAULT_LOAD
        if default.is_file():
            return _lines(default.read_text(), default)
        routes = [t.route for t in manifest.http_triggers]
        if not routes:
            raise LoadError(
                f"app `{manifest.name}` has no [[triggers.http]] route and no {DEFAULT_LOAD}; "
                'name the requests to measure with --load FILE (e.g. a line `greet("you")`)'
            )
        return tuple(HttpRequest("GET", _example_path(r)) for r in routes)
    if not load.is_file():
        raise LoadError(f"cannot read the load {load}: no such file; check --load")
    if load.suffix == ".py":
        return _script(load)
    try:
        text = load.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"cannot read the load {load} ({exc}); give a text file") from None
    return _lines(text, load)


def _script(path: Path) -> tuple[Request, ...]:
    try:
        namespace = runpy.run_path(str(path), run_name="wasmesh_load")
    except Exception as exc:  # the user's script: any failure is its own
        raise LoadError(f"the load script {path} failed: {type(exc).__name__}: {exc}") from None
    make = namespace.get("requests")
    if not callable(make):
        raise LoadError(
            f"the load script {path} defines no `requests()`; define one returning request "
            'lines such as "POST /quote/fr [...]" or \'greet("you")\''
        )
    try:
        lines = list(make())
    except Exception as exc:
        raise LoadError(f"`requests()` of {path} failed: {type(exc).__name__}: {exc}") from None
    if not all(isinstance(line, str) for line in lines):
        raise LoadError(f"`requests()` of {path} must return strings, one request each")
    return _lines("\n".join(lines), path)


def _lines(text: str, path: Path) -> tuple[Request, ...]:
    requests = [
        parse_request(line.strip(), f"{path}:{n}", path.parent)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not requests:
        raise LoadError(f"the load {path} names no request; add a line such as `GET /`")
    return tuple(requests)


def parse_request(line: str, where: str, base: Path) -> Request:
    """One line of a load (`where` names it in errors; `base` anchors `@file` bodies)."""
    method, _, rest = line.partition(" ")
    if method in METHODS:
        path, _, body = rest.strip().partition(" ")
        if not path.startswith("/"):
            raise LoadError(f"{where}: `{line}` needs a path starting with `/` after {method}")
        body = body.strip()
        if body.startswith("@"):
            file = base / body[1:]
            try:
                return HttpRequest(method, path, file.read_bytes())
            except OSError as exc:
                raise LoadError(f"{where}: cannot read the body {file} ({exc.strerror})") from None
        return HttpRequest(method, path, body.encode())
    if "(" not in line or not line.endswith(")"):
        raise LoadError(
            f"{where}: `{line}` is neither an HTTP request (`POST /path body`) nor a call "
            "(`name(args)`); write it as one of them"
        )
    try:
        export, args = parse_call(line)
    except WasmeshError as exc:
        raise LoadError(f"{where}: {exc}") from None
    return Invocation(export, tuple(args))


def _example_path(route: str) -> str:
    """A path the route matches: `/prefix/...` → `/prefix/`, `/items/:id` → `/items/1`."""
    parts = [("1" if p.startswith(":") else "" if p == "..." else p) for p in route.split("/")]
    return "/".join(parts) or "/"


def describe(requests: Iterable[Request]) -> str:
    """The requests in a few words, for the report's header."""
    seen = list(dict.fromkeys(str(r) for r in requests))
    shown = "; ".join(s if len(s) <= 60 else s[:57] + "..." for s in seen[:3])
    return shown + (f"; and {len(seen) - 3} more" if len(seen) > 3 else "")
