"""The wasm OCI artifact's config, from the component's world.

Layout per the CNCF TAG Runtime "Wasm OCI Artifact" specification (as wkg and wasmCloud write
it): an OCI image manifest whose config has media type `application/vnd.wasm.config.v0+json`
and exactly one layer of media type `application/wasm`. The config holds `created` (RFC 3339),
`architecture` ("wasm"), `os` ("wasip2" for a component), `layerDigests` (the layers' digests
in manifest order) and `component` with the world's `imports` and `exports` by name
(`wasi:http/incoming-handler@0.2.0`, or a bare function's name).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmesh.registry.errors import RegistryError

CONFIG_MEDIA_TYPE = "application/vnd.wasm.config.v0+json"
LAYER_MEDIA_TYPE = "application/wasm"
ARCHITECTURE = "wasm"
COMPONENT_OS = "wasip2"


@dataclass(frozen=True)
class WasmConfig:
    """The spec's config fields that wasmesh reads and writes."""

    created: str
    layer_digests: tuple[str, ...]
    imports: tuple[str, ...]
    exports: tuple[str, ...]
    os: str = COMPONENT_OS
    architecture: str = ARCHITECTURE
    author: str | None = None
    target: str | None = None

    def to_json(self) -> bytes:
        """The config blob: compact JSON with the spec's camelCase keys; no nulls."""
        component: dict[str, Any] = {"exports": list(self.exports), "imports": list(self.imports)}
        if self.target:
            component["target"] = self.target
        data: dict[str, Any] = {"created": self.created}
        if self.author:
            data["author"] = self.author
        data |= {
            "architecture": self.architecture, "os": self.os,
            "layerDigests": list(self.layer_digests), "component": component,
        }  # fmt: skip
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes, what: str) -> WasmConfig:
        """Parse a config blob; `RegistryError` naming `what` when it is not the spec's shape."""
        try:
            raw = json.loads(data)
            component = raw.get("component") or {}
            return cls(
                created=str(raw.get("created", "")),
                layer_digests=tuple(str(d) for d in raw.get("layerDigests", ())),
                imports=tuple(str(i) for i in component.get("imports", ())),
                exports=tuple(str(e) for e in component.get("exports", ())),
                os=str(raw.get("os", "")),
                architecture=str(raw.get("architecture", "")),
                author=raw.get("author"),
                target=component.get("target"),
            )
        except (ValueError, AttributeError, TypeError):
            raise RegistryError(
                f"the config of {what} is not a wasm OCI config (JSON with `component`); "
                "push it again with a current tool."
            ) from None


def config_for(path: Path, layer_digest: str, cache: Path) -> WasmConfig:
    """The config of the component file `path`; `created` honours `SOURCE_DATE_EPOCH`."""
    from wasmesh.compose.worlds import world_of  # composition is not needed to pull

    world = world_of(path, cache)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    stamp = int(epoch) if epoch and epoch.isdigit() else time.time()
    return WasmConfig(
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)),
        layer_digests=(layer_digest,),
        imports=tuple(i.name for i in world.imports),
        exports=tuple(e.name for e in world.exports),
    )
