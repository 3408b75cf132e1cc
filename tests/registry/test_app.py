"""Apps in a registry: the index layout, and `oci://` sources pinned in `wasmesh.lock`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.registry import Registry
from wasmesh.errors import ExportNotFound, ManifestError
from wasmesh.registry import parse_reference, push_component
from wasmesh.registry.app import APP_MANIFEST_MEDIA_TYPE, pull_app, push_app
from wasmesh.registry.sources import read_lock
from wasmesh.runtime.app import App

Guest = Callable[[str], Path]
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def add(app: Path, a: int, b: int) -> object:
    loaded = App.load(app)
    try:
        return loaded.call("demo:calc/math@0.1.0#add", a, b)
    finally:
        loaded.close()


def calc_app(directory: Path, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "wasmesh.toml").write_text(
        f'[app]\nname = "calc-app"\n\n[components.calc]\nsource = "{source}"\n'
    )
    return directory


def test_app_index_refers_to_each_component_by_digest(
    registry: Registry, guest: Guest, tmp_path: Path
) -> None:
    src = calc_app(tmp_path / "src", str(guest("calc-c")))
    digest = push_app(src, parse_reference(f"{registry.address}/apps/calc:2"))

    body, headers = registry.get("apps/calc/manifests/2", accept=INDEX)
    assert headers["Docker-Content-Digest"] == digest
    index = json.loads(body)
    assert index["mediaType"] == INDEX
    app_entry, calc_entry = index["manifests"]
    assert app_entry["annotations"]["dev.wasmesh.role"] == "app"
    assert calc_entry["annotations"]["org.opencontainers.image.title"] == "calc"

    component, _ = registry.get(f"apps/calc/manifests/{calc_entry['digest']}", accept=MANIFEST)
    assert json.loads(component)["config"]["mediaType"] == "application/vnd.wasm.config.v0+json"

    app, _ = registry.get(f"apps/calc/manifests/{app_entry['digest']}", accept=MANIFEST)
    [layer] = json.loads(app)["layers"]
    assert layer["mediaType"] == APP_MANIFEST_MEDIA_TYPE
    toml, _ = registry.get(f"apps/calc/blobs/{layer['digest']}")
    assert f'source = "oci://{registry.address}/apps/calc@{calc_entry["digest"]}"' in toml.decode()

    home = pull_app(parse_reference(f"{registry.address}/apps/calc:2"), root=tmp_path / "apps")
    assert add(home, 40, 2) == 42


def test_tag_source_is_pinned_in_the_lock_file(
    registry: Registry, guest: Guest, tmp_path: Path
) -> None:
    ref = parse_reference(f"{registry.address}/pinned/calc:1")
    first = push_component(guest("calc-c"), ref)
    app = calc_app(tmp_path / "app", f"oci://{ref}")
    assert add(app, 1, 2) == 3
    assert read_lock(app / "wasmesh.lock") == {str(ref): first}

    # The tag moves to another component; the app keeps the pinned one.
    push_component(guest("trap-wat"), ref)
    assert add(app, 1, 2) == 3
    assert read_lock(app / "wasmesh.lock") == {str(ref): first}

    # Deleting the pin resolves the tag again.
    (app / "wasmesh.lock").unlink()
    with pytest.raises(ExportNotFound):
        add(app, 1, 2)
    assert read_lock(app / "wasmesh.lock")[str(ref)] != first


def test_registry_source_rejects_build_keys(tmp_path: Path) -> None:
    app = calc_app(tmp_path / "app", "oci://localhost:5000/calc:1")
    (app / "wasmesh.toml").write_text((app / "wasmesh.toml").read_text() + 'language = "c"\n')
    with pytest.raises(ManifestError, match="does not apply to a registry `source`"):
        App.load(app)
