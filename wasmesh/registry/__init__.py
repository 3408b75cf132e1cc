"""Sharing components and apps through OCI registries (the CNCF wasm OCI artifact layout).

`reference` parses `REGISTRY/REPO[:TAG][@sha256:DIGEST]`; `client` talks to one registry through
the `oras` library and verifies every digest; `cache` keeps pulled blobs by digest; `config`
writes the spec's config from a component's world; `component` pushes, pulls and inspects one
component; `app` publishes an app (its components plus its manifest, in one OCI index) and
fetches it back; `sources` resolves a manifest's `oci://` sources, pinned in `wasmesh.lock`.
"""

from __future__ import annotations

from wasmesh.registry.cache import BlobCache
from wasmesh.registry.client import Credentials, Options
from wasmesh.registry.component import (
    Artifact,
    Pulled,
    inspect_component,
    pull_component,
    push_component,
)
from wasmesh.registry.config import CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE, WasmConfig
from wasmesh.registry.errors import DigestMismatch, RegistryError
from wasmesh.registry.reference import Reference, looks_like_reference, parse_reference

__all__ = [
    "CONFIG_MEDIA_TYPE",
    "LAYER_MEDIA_TYPE",
    "Artifact",
    "BlobCache",
    "Credentials",
    "DigestMismatch",
    "Options",
    "Pulled",
    "Reference",
    "RegistryError",
    "WasmConfig",
    "inspect_component",
    "looks_like_reference",
    "parse_reference",
    "pull_component",
    "push_component",
]
