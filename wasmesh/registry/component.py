"""Pushing, pulling and inspecting one component as a wasm OCI artifact.

    digest = push_component(Path("hello.wasm"), parse_reference("localhost:5000/hello:1"))
    pulled = pull_component(parse_reference("localhost:5000/hello:1"))
    pulled.path      # the verified layer in the local blob cache

The artifact layout is `wasmesh.registry.config`'s; anything else (an image, an app index, a
core module, a layer that is not a component) is refused with one sentence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmesh.engine.loader import check_component_bytes, read_component_bytes
from wasmesh.errors import ComponentError
from wasmesh.registry.cache import BlobCache, digest_of
from wasmesh.registry.client import OCI_INDEX, OCI_MANIFEST, Manifest, Options, RegistryClient
from wasmesh.registry.config import CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE, WasmConfig, config_for
from wasmesh.registry.errors import RegistryError
from wasmesh.registry.reference import Reference


@dataclass(frozen=True)
class Artifact:
    """A wasm component artifact in a registry: where, its manifest digest and its config."""

    ref: Reference
    digest: str
    config: WasmConfig
    config_digest: str
    layer: dict[str, Any]

    @property
    def size(self) -> int:
        return int(self.layer.get("size", 0))


@dataclass(frozen=True)
class Pulled:
    artifact: Artifact
    path: Path


def push_component(
    path: Path,
    ref: Reference,
    options: Options | None = None,
    *,
    cache: BlobCache | None = None,
    annotations: dict[str, str] | None = None,
) -> str:
    """Push the component file `path` to `ref` (its tag, or by digest when `ref` has no tag).

    Returns the manifest digest. `ComponentError` when `path` is not a component;
    `RegistryError` for registry failures.
    """
    data = read_component_bytes(path)
    client = RegistryClient(ref, options or Options(), cache)
    client.ping(ref)
    layer_digest = digest_of(data)
    config = config_for(path, layer_digest, client.cache.root)
    layer = client.push_blob(ref, data, LAYER_MEDIA_TYPE)
    config_descriptor = client.push_blob(ref, config.to_json(), CONFIG_MEDIA_TYPE)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_descriptor,
        "layers": [layer],
    }
    if annotations:
        manifest["annotations"] = annotations
    body = json.dumps(manifest, separators=(",", ":")).encode()
    return client.put_manifest(ref, body, OCI_MANIFEST)


def component_artifact(
    client: RegistryClient, ref: Reference, manifest: Manifest | None = None
) -> Artifact:
    """The artifact `ref` names, from its manifest and config (the layer is not fetched)."""
    manifest = manifest or client.get_manifest(ref)
    if manifest.media_type == OCI_INDEX:
        raise RegistryError(
            f"{ref} is a wasmesh app, not a component; run it with `wasmesh up {ref}`."
        )
    body = manifest.json
    config = body.get("config") or {}
    layers = body.get("layers") or []
    if (
        config.get("mediaType") != CONFIG_MEDIA_TYPE
        or len(layers) != 1
        or (layers[0].get("mediaType") != LAYER_MEDIA_TYPE)
    ):
        kinds = ", ".join(str(layer.get("mediaType")) for layer in layers) or "no layers"
        raise RegistryError(
            f"{ref} is not a wasm component artifact (config {config.get('mediaType')}, "
            f"layers: {kinds}); push a component with `wasmesh push`."
        )
    located = ref.with_digest(manifest.digest)
    config_path = client.fetch_blob(located, config, f"the config of {ref}")
    wasm_config = WasmConfig.from_json(config_path.read_bytes(), str(ref))
    if wasm_config.os != "wasip2":
        raise RegistryError(
            f"{ref} holds a core wasm module (os {wasm_config.os!r}), not a component; "
            "wrap it with `wasm-tools component new` and push that."
        )
    return Artifact(located, manifest.digest, wasm_config, str(config["digest"]), dict(layers[0]))


def inspect_component(ref: Reference, options: Options | None = None) -> Artifact:
    """The artifact at `ref`: manifest digest, layer size, imports and exports, from the config."""
    client = RegistryClient(ref, options or Options())
    return component_artifact(client, ref)


def pull_component(
    ref: Reference, options: Options | None = None, *, cache: BlobCache | None = None
) -> Pulled:
    """The component at `ref`, verified and kept in the local blob cache."""
    client = RegistryClient(ref, options or Options(), cache)
    artifact = component_artifact(client, ref)
    return Pulled(artifact, fetch_layer(client, artifact))


def fetch_layer(client: RegistryClient, artifact: Artifact) -> Path:
    path = client.fetch_blob(artifact.ref, artifact.layer, f"the component layer of {artifact.ref}")
    try:
        check_component_bytes(path.read_bytes(), str(artifact.ref))
    except ComponentError:
        raise RegistryError(
            f"the layer of {artifact.ref} is not a wasm component; push one built by a "
            "component toolchain."
        ) from None
    return path
