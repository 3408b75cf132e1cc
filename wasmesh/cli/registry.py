"""`wasmesh push` and `wasmesh pull`: components and apps through OCI registries."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wasmesh.cli.output import out_console, print_json
from wasmesh.errors import WasmeshError

if TYPE_CHECKING:
    from wasmesh.registry import Artifact, Options

Insecure = Annotated[
    bool,
    typer.Option("--insecure", help="Allow plain HTTP to a registry that is not on loopback."),
]
Username = Annotated[
    str | None,
    typer.Option("--username", metavar="NAME", help="Registry user (else ~/.docker/config.json)."),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the registry password from stdin.")
]
MaxLayer = Annotated[
    str | None,
    typer.Option(
        "--max-layer-size",
        metavar="SIZE",
        help="Refuse layers larger than this (default 512MiB, or $WASMESH_REGISTRY_MAX_LAYER).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def registry_options(
    insecure: bool = False,
    username: str | None = None,
    password_stdin: bool = False,
    max_layer_size: str | None = None,
) -> Options:
    """The registry options the command line gives; one-sentence errors for bad combinations."""
    from wasmesh.registry import Credentials, Options
    from wasmesh.registry.client import DEFAULT_MAX_LAYER
    from wasmesh.sizes import parse_size

    credentials = None
    if password_stdin and not username:
        raise WasmeshError("--password-stdin needs --username NAME; give both.")
    if username:
        if not password_stdin:
            raise WasmeshError("--username needs --password-stdin (the password on stdin).")
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise WasmeshError("no password on stdin; pipe it in, e.g. `echo $PW | wasmesh ...`.")
        credentials = Credentials(username, password)
    limit = max_layer_size or os.environ.get("WASMESH_REGISTRY_MAX_LAYER")
    return Options(
        insecure=insecure,
        credentials=credentials,
        max_layer=parse_size(limit) if limit else DEFAULT_MAX_LAYER,
    )


def push(
    targets: Annotated[
        list[str],
        typer.Argument(
            metavar="COMPONENT REF",
            help="The .wasm component and where to push it (REF only with --app).",
        ),
    ],
    app: Annotated[
        Path | None,
        typer.Option(
            "--app", metavar="DIR", help="Push the app in DIR (its components and manifest)."
        ),
    ] = None,
    insecure: Insecure = False,
    username: Username = None,
    password_stdin: PasswordStdin = False,
    as_json: Json = False,
) -> None:
    """Push a component (or, with --app, a whole app) to an OCI registry.

    The component goes as a wasm OCI artifact (config application/vnd.wasm.config.v0+json with
    its world's imports and exports, one application/wasm layer), readable by wkg, wash, Spin.

    Example: wasmesh push hello.wasm localhost:5000/hello:1.0
    """
    from wasmesh.registry import parse_reference, push_component

    options = registry_options(insecure, username, password_stdin)
    if targets and "@" in targets[-1]:
        raise WasmeshError(
            f"`{targets[-1]}` names a digest; a push makes its own digest: push to "
            "REGISTRY/REPO:TAG (or REGISTRY/REPO for :latest)."
        )
    if app is not None:
        if len(targets) != 1:
            raise WasmeshError("with --app DIR, give only the REF to push to.")
        from wasmesh.registry.app import push_app

        ref = parse_reference(targets[0])
        digest = push_app(app, ref, options)
        what = "app"
    else:
        if len(targets) != 2:
            raise WasmeshError(
                "give the component and the reference: `wasmesh push hello.wasm REGISTRY/REPO:TAG`."
            )
        ref = parse_reference(targets[1])
        digest = push_component(Path(targets[0]), ref, options)
        what = "component"
    if as_json:
        print_json({"reference": str(ref), "digest": digest})
    else:
        out_console.print(f"pushed {what} {ref}@{digest}")


def pull(
    reference: Annotated[str, typer.Argument(metavar="REF", help="REGISTRY/REPO[:TAG][@DIGEST]")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", metavar="FILE", help="Where to write (default: REPO.wasm)."),
    ] = None,
    insecure: Insecure = False,
    username: Username = None,
    password_stdin: PasswordStdin = False,
    max_layer_size: MaxLayer = None,
    as_json: Json = False,
) -> None:
    """Pull a wasm component from an OCI registry, verifying every digest.

    Example: wasmesh pull localhost:5000/hello:1.0 -o hello.wasm
    """
    from wasmesh.registry import parse_reference, pull_component

    ref = parse_reference(reference)
    target = output or Path(f"{ref.repository.rsplit('/', 1)[-1]}.wasm")
    if not target.name or target.is_dir():  # `-o ''`, `-o .`, `-o somedir`
        raise WasmeshError(f"-o `{output}` is not a file name; give -o FILE, e.g. -o app.wasm.")
    pulled = pull_component(
        ref, registry_options(insecure, username, password_stdin, max_layer_size)
    )
    tmp = target.with_name(f".{target.name}.partial")
    try:
        tmp.write_bytes(pulled.path.read_bytes())
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WasmeshError(
            f"cannot write {target}: {exc.strerror}; choose another -o FILE."
        ) from None
    if as_json:
        print_json({"reference": str(ref), "digest": pulled.artifact.digest, "file": str(target)})
    else:
        out_console.print(
            f"pulled {ref}@{pulled.artifact.digest} -> {target} ({pulled.artifact.size} bytes)"
        )


def inspect_reference(reference: str, options: Options, as_json: bool) -> None:
    """`wasmesh inspect REF`: the artifact's world from its config, without the layer."""
    from wasmesh.registry import inspect_component, parse_reference

    artifact = inspect_component(parse_reference(reference), options)
    if as_json:
        print_json(_artifact_json(artifact))
        return
    lines = [
        f"reference: {artifact.ref}",
        f"digest:    {artifact.digest}",
        f"layer:     {artifact.layer.get('digest')} ({artifact.size} bytes)",
        f"created:   {artifact.config.created}",
        "imports:",
        *(f"  {name}" for name in artifact.config.imports),
        "exports:",
        *(f"  {name}" for name in artifact.config.exports),
    ]
    sys.stdout.write("\n".join(lines) + "\n")


def _artifact_json(artifact: Artifact) -> dict[str, object]:
    return {
        "reference": str(artifact.ref),
        "digest": artifact.digest,
        "layer": artifact.layer,
        "created": artifact.config.created,
        "os": artifact.config.os,
        "imports": list(artifact.config.imports),
        "exports": list(artifact.config.exports),
    }


def register(app: typer.Typer) -> None:
    app.command()(push)
    app.command()(pull)


def app_location(app: Path, insecure: bool = False) -> Path:
    """The app directory `app` names: a local path, or a registry reference pulled into the cache.

    `wasmesh up REF` and `wasmesh deploy REF` run a pushed app without its sources.
    """
    from wasmesh.registry import looks_like_reference, parse_reference
    from wasmesh.registry.app import pull_app

    text = str(app)
    if text.startswith("oci:/") and not text.startswith("oci://"):
        text = "oci://" + text[len("oci:/") :]  # a Path argument folds the `//`
    if app.exists() or not looks_like_reference(text):
        return app
    return pull_app(parse_reference(text), registry_options(insecure))


def component_location(component: Path) -> Path:
    """The component file `component` names: a local path, or a registry reference pulled
    (verified) into the layer cache, so `invoke` and `run` take `REGISTRY/REPO:TAG` too."""
    from wasmesh.registry import looks_like_reference, parse_reference, pull_component

    text = str(component)
    if text.startswith("oci:/") and not text.startswith("oci://"):
        text = "oci://" + text[len("oci:/") :]  # a Path argument folds the `//`
    if component.exists() or not looks_like_reference(text):
        return component
    return pull_component(parse_reference(text), registry_options(False)).path
