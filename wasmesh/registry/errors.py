"""Errors of registry operations: one sentence naming the artifact and the fix."""

from __future__ import annotations

from wasmesh.errors import WasmeshError


class RegistryError(WasmeshError):
    """A registry operation failed: bad reference, unreachable registry, missing artifact,
    digest mismatch, an artifact that is not a wasm component, or a layer over the size limit."""


class DigestMismatch(RegistryError):
    """Content read from a registry or the local cache does not hash to its digest."""
