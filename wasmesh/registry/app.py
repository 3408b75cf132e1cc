"""Publishing an app to a registry, and fetching it back to run without its sources.

An app is one OCI image index, tagged at the reference, whose entries are

- every built component as its own wasm OCI artifact (the `wasmesh.registry.config` layout),
  annotated `org.opencontainers.image.title = <component name>`;
- the app's manifest as an artifact of its own: config `application/vnd.wasmesh.app.v0+json`
  (`name`, `version`, component name → manifest digest) and one layer
  `application/vnd.wasmesh.manifest.v0+toml`, the `wasmesh.toml` whose every `source` is
  `oci://REGISTRY/REPO@sha256:...` of the component pushed alongside; annotated
  `dev.wasmesh.role = app`.

Every entry lives in the index's repository, pushed by digest; the index keeps them referenced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tomlkit

from wasmesh.compose.manifest import load_manifest
from wasmesh.compose.plan import plan_app
from wasmesh.registry.cache import BlobCache
from wasmesh.registry.client import OCI_INDEX, OCI_MANIFEST, Options, RegistryClient
from wasmesh.registry.component import push_component
from wasmesh.registry.errors import RegistryError
from wasmesh.registry.reference import SCHEME, Reference

APP_CONFIG_MEDIA_TYPE = "application/vnd.wasmesh.app.v0+json"
APP_MANIFEST_MEDIA_TYPE = "application/vnd.wasmesh.manifest.v0+toml"
TITLE = "org.opencontainers.image.title"
VERSION = "org.opencontainers.image.version"
ROLE = "dev.wasmesh.role"
_BUILD_KEYS = ("language", "world", "wit", "adapter", "build")


def push_app(directory: Path, ref: Reference, options: Options | None = None) -> str:
    """Build the app in `directory`, push its components and manifest; the index digest."""
    options = options or Options()
    manifest_path = directory / "wasmesh.toml" if directory.is_dir() else directory
    plan = plan_app(manifest_path, quiet=True, resolve_variables=False)
    by_digest = Reference(ref.registry, ref.repository)
    client = RegistryClient(ref, options)
    entries: list[dict[str, Any]] = []
    digests: dict[str, str] = {}
    for spec in plan.manifest.components:
        title = {TITLE: spec.name, ROLE: "component"}
        digest = push_component(plan.paths[spec.name], by_digest, options, annotations=title)
        digests[spec.name] = digest
        entries.append(_descriptor(client, by_digest, digest, title))

    document = tomlkit.parse(manifest_path.read_text())
    for name, digest in digests.items():
        table = document["components"][name]
        for key in _BUILD_KEYS:
            table.pop(key, None)
        table["source"] = f"{SCHEME}{ref.registry}/{ref.repository}@{digest}"
    toml = tomlkit.dumps(document).encode()
    config = {"name": plan.manifest.name, "version": plan.manifest.version, "components": digests}
    app_config = client.push_blob(
        by_digest, json.dumps(config, separators=(",", ":")).encode(), APP_CONFIG_MEDIA_TYPE
    )
    layer = client.push_blob(by_digest, toml, APP_MANIFEST_MEDIA_TYPE)
    layer["annotations"] = {TITLE: "wasmesh.toml"}
    body = _json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": app_config, "layers": [layer],
    })  # fmt: skip
    app_digest = client.put_manifest(by_digest, body, OCI_MANIFEST)
    app_entry = {"mediaType": OCI_MANIFEST, "digest": app_digest, "size": len(body)}
    app_entry["annotations"] = {TITLE: plan.manifest.name, ROLE: "app"}
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [app_entry, *entries],
        "annotations": {TITLE: plan.manifest.name, VERSION: plan.manifest.version},
    }
    tagged = ref if ref.tag else Reference(ref.registry, ref.repository, "latest")
    return client.put_manifest(tagged, _json(index), OCI_INDEX)


def pull_app(ref: Reference, options: Options | None = None, root: Path | None = None) -> Path:
    """The `wasmesh.toml` of the app at `ref`, in a directory of its own under the cache.

    Its sources name the components by digest; they are pulled when the app is loaded.
    """
    client = RegistryClient(ref, options or Options())
    index = client.get_manifest(ref)
    if index.media_type != OCI_INDEX:
        raise RegistryError(
            f"{ref} is a component, not a wasmesh app; run it with `wasmesh pull` and "
            "`wasmesh run`, or push an app with `wasmesh push --app DIR`."
        )
    apps = [
        m for m in index.json.get("manifests", [])
        if (m.get("annotations") or {}).get(ROLE) == "app"
    ]  # fmt: skip
    if len(apps) != 1:
        raise RegistryError(f"{ref} is an index but not a wasmesh app; push one with --app DIR.")
    app_ref = ref.pinned(str(apps[0]["digest"]))
    app = client.get_manifest(app_ref).json
    layers = app.get("layers") or []
    if len(layers) != 1 or layers[0].get("mediaType") != APP_MANIFEST_MEDIA_TYPE:
        raise RegistryError(f"the app manifest of {ref} has no wasmesh.toml layer; push it again.")
    toml = client.fetch_blob(app_ref, layers[0], f"the wasmesh.toml of {ref}")
    home = (root or BlobCache().root / "apps") / index.digest.split(":", 1)[1][:32]
    home.mkdir(parents=True, exist_ok=True)
    target = home / "wasmesh.toml"
    tmp = home / ".wasmesh.toml.tmp"
    tmp.write_bytes(toml.read_bytes())
    tmp.replace(target)
    load_manifest(target)  # a manifest this wasmesh cannot read fails here, not later
    return home


def _descriptor(
    client: RegistryClient, ref: Reference, digest: str, annotations: dict[str, str]
) -> dict[str, Any]:
    manifest = client.get_manifest(ref.pinned(digest))
    return {
        "mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest.data),
        "annotations": annotations,
    }  # fmt: skip


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
