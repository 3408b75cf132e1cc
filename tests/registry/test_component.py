"""Pushing, pulling and inspecting components against a real registry."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.registry import Registry
from wasmesh.engine.loader import load_component
from wasmesh.registry import (
    CONFIG_MEDIA_TYPE,
    LAYER_MEDIA_TYPE,
    BlobCache,
    DigestMismatch,
    Options,
    RegistryError,
    inspect_component,
    parse_reference,
    pull_component,
    push_component,
)


def test_push_pull_inspect_round_trip(
    registry: Registry, guest: Callable[[str], Path], tmp_path: Path
) -> None:
    calc = guest("calc-c")
    ref = parse_reference(f"{registry.address}/calc:1.0")
    digest = push_component(calc, ref)

    artifact = inspect_component(ref)
    assert artifact.digest == digest
    assert artifact.size == calc.stat().st_size
    world = load_component(calc).world
    assert artifact.config.exports == tuple(e.name for e in world.exports)
    assert artifact.config.imports == tuple(i.name for i in world.imports)

    pulled = pull_component(ref.pinned(digest))
    assert pulled.path.read_bytes() == calc.read_bytes()


def test_manifest_follows_the_wasm_oci_layout(
    registry: Registry, guest: Callable[[str], Path]
) -> None:
    calc = guest("calc-c")
    digest = push_component(calc, parse_reference(f"{registry.address}/layout:v1"))

    body, headers = registry.get(
        "layout/manifests/v1", accept="application/vnd.oci.image.manifest.v1+json"
    )
    assert headers["Docker-Content-Digest"] == digest
    manifest = json.loads(body)
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert (
        manifest["config"]["mediaType"]
        == CONFIG_MEDIA_TYPE
        == ("application/vnd.wasm.config.v0+json")
    )
    [layer] = manifest["layers"]
    assert layer["mediaType"] == LAYER_MEDIA_TYPE == "application/wasm"
    assert layer["size"] == calc.stat().st_size

    config_bytes, _ = registry.get(f"layout/blobs/{manifest['config']['digest']}")
    config = json.loads(config_bytes)
    assert config["architecture"] == "wasm"
    assert config["os"] == "wasip2"
    assert config["layerDigests"] == [layer["digest"]]
    assert config["created"].endswith("Z")
    assert set(config["component"]) >= {"imports", "exports"}
    assert "demo:calc/math@0.1.0" in config["component"]["exports"]

    wasm, _ = registry.get(f"layout/blobs/{layer['digest']}")
    assert wasm == calc.read_bytes()


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[Registry]:
    """A registry of its own, for a test that damages the storage (blobs are shared by digest)."""
    running = Registry.start(tmp_path / "registry")
    yield running
    running.close()


def test_tampered_blob_in_registry_storage_is_refused(
    own_registry: Registry, guest: Callable[[str], Path], tmp_path: Path
) -> None:
    registry = own_registry
    calc = guest("calc-c")
    ref = parse_reference(f"{registry.address}/tampered:1")
    push_component(calc, ref)
    layer_digest = inspect_component(ref).layer["digest"]
    stored = registry.blob_file(layer_digest)
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF
    stored.write_bytes(bytes(data))

    cache = BlobCache(tmp_path / "cache")
    with pytest.raises(DigestMismatch, match="tampered"):
        pull_component(ref, cache=cache)
    assert cache.get(layer_digest) is None
    # Only the config, which was intact, is cached: no partial layer.
    left = [p.name for p in cache.path_for(layer_digest).parent.iterdir()]
    assert left == [inspect_component(ref).config_digest.split(":")[1]]


def test_corrupt_cache_entry_is_fetched_again(
    registry: Registry, guest: Callable[[str], Path], tmp_path: Path
) -> None:
    calc = guest("calc-c")
    ref = parse_reference(f"{registry.address}/cached:1")
    push_component(calc, ref)
    cache = BlobCache(tmp_path / "cache")
    first = pull_component(ref, cache=cache)
    first.path.write_bytes(b"\0asm garbage")

    again = pull_component(ref, cache=cache)
    assert again.path.read_bytes() == calc.read_bytes()


def test_layer_over_the_size_limit_is_refused(
    registry: Registry, guest: Callable[[str], Path], tmp_path: Path
) -> None:
    calc = guest("calc-c")
    ref = parse_reference(f"{registry.address}/big:1")
    push_component(calc, ref)
    cache = BlobCache(tmp_path / "cache")
    with pytest.raises(RegistryError, match="over the 100-byte limit"):
        pull_component(ref, Options(max_layer=100), cache=cache)
    assert not cache.path_for(inspect_component(ref).layer["digest"]).exists()


def test_unknown_repository_tag_and_down_registry(
    registry: Registry, guest: Callable[[str], Path]
) -> None:
    with pytest.raises(RegistryError, match="repository nothing-here does not exist"):
        inspect_component(parse_reference(f"{registry.address}/nothing-here:1"))
    push_component(guest("calc-c"), parse_reference(f"{registry.address}/known:1"))
    with pytest.raises(RegistryError, match="known:2 not found"):
        inspect_component(parse_reference(f"{registry.address}/known:2"))
    with pytest.raises(RegistryError, match="cannot reach registry"):
        inspect_component(parse_reference("127.0.0.1:9/x:1"))
