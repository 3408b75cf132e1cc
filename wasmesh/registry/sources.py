"""A manifest's `oci://` sources: tags resolved once and pinned in `wasmesh.lock`, then pulled.

`wasmesh.lock` sits next to `wasmesh.toml`:

```toml
version = 1

[sources]
"localhost:5000/greeter:1.0" = "sha256:3f1c..."
```

A tag found there is used at its pinned digest, so every build and every lattice host runs the
same bytes; a tag not yet there is resolved at the registry and added. Delete an entry (or the
file) to move to what the tag names now. Sources given by digest need no entry.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import tomlkit
import tomlkit.exceptions

from wasmesh.compose.manifest import ComponentSpec, Manifest
from wasmesh.errors import ManifestError
from wasmesh.registry.cache import BlobCache
from wasmesh.registry.client import Options, RegistryClient
from wasmesh.registry.component import component_artifact, fetch_layer
from wasmesh.registry.reference import Reference, parse_reference

LOCK_NAME = "wasmesh.lock"
_HEADER = "# Registry tags pinned to digests by wasmesh; delete an entry to resolve it again.\n"


def read_lock(path: Path) -> dict[str, str]:
    """The `[sources]` pins of the lock file at `path` (empty when there is none)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        document = tomlkit.parse(text).unwrap()
    except tomlkit.exceptions.ParseError:
        raise ManifestError(f"{path} is not valid TOML; delete it to resolve tags again.") from None
    sources = document.get("sources", {})
    if not isinstance(sources, dict):
        raise ManifestError(f"{path}: [sources] must be a table; delete the file to rebuild it.")
    return {str(k): str(v) for k, v in sources.items()}


def write_lock(path: Path, pins: dict[str, str]) -> None:
    document = tomlkit.document()
    document.add(tomlkit.comment(_HEADER.strip("# \n")))
    document["version"] = 1
    table = tomlkit.table()
    for key in sorted(pins):
        table[key] = pins[key]
    document["sources"] = table
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(tomlkit.dumps(document))
    tmp.replace(path)


def resolve_sources(
    manifest: Manifest, options: Options | None = None, cache: BlobCache | None = None
) -> Manifest:
    """`manifest` with every `oci://` source pulled (verified, cached) and its path set."""
    specs = [c for c in manifest.components if c.source.oci is not None]
    if not specs:
        return manifest
    options = options or Options()
    lock_path = manifest.root / LOCK_NAME
    pins = read_lock(lock_path)
    changed = False
    resolved: dict[str, ComponentSpec] = {}
    for spec in specs:
        assert spec.source.oci is not None
        ref = parse_reference(spec.source.oci)
        client = RegistryClient(ref, options, cache)
        pinned, new_pin = _pin(client, ref, pins)
        if new_pin:
            pins[str(ref)] = new_pin
            changed = True
        artifact = component_artifact(client, pinned)
        path = fetch_layer(client, artifact)
        resolved[spec.name] = dataclasses.replace(
            spec, source=dataclasses.replace(spec.source, path=path)
        )
    if changed:
        write_lock(lock_path, pins)
    components = tuple(resolved.get(c.name, c) for c in manifest.components)
    return dataclasses.replace(manifest, components=components)


def _pin(
    client: RegistryClient, ref: Reference, pins: dict[str, str]
) -> tuple[Reference, str | None]:
    """(`ref` by digest, the new pin to record or None)."""
    if ref.digest is not None:
        return ref.pinned(ref.digest), None
    known = pins.get(str(ref))
    if known is not None:
        return ref.pinned(known), None
    digest = client.get_manifest(ref).digest
    return ref.pinned(digest), digest
