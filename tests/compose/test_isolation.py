"""Inside one composed unit, each component sees only what the manifest grants it.

`front` holds an environment variable and a directory; `probe`, composed into the same
component and called by `front`, asks for the same variable and file and is refused, while
its own variable reaches it and not `front`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import wasmesh
from wasmesh.api import Interface
from wasmesh.compose.units import PlanError
from wasmesh.engine import load_component
from wasmesh.policy import DirGrant, Grants
from wasmesh.runtime.app import App

VIEWS = "test:isolation/views@0.1.0"


def write_app(tmp_path: Path, guest: Callable[[str], Path], deploy: str = "", **extra: str) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "secret.txt").write_text("the recipe")
    manifest = tmp_path / "wasmesh.toml"
    manifest.write_text(f"""
[app]
name = "isolation"

[components.front]
source = "{guest("app-front-c")}"
env = {{ SECRET = "s3cret" }}
dirs = ["data:/data:ro"]
{extra.get("front", "")}

[components.probe]
source = "{guest("app-probe-c")}"
env = {{ PROBE_ONLY = "mine" }}
{extra.get("probe", "")}

{deploy}
""")
    return manifest


def test_the_probe_reads_env_and_files_when_granted(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    """Control: the probe does read what it is given, so a `None` below is a denial."""
    (tmp_path / "secret.txt").write_text("the recipe")
    probe = wasmesh.load(
        guest("app-probe-c"),
        grants=Grants(env=(("SECRET", "s3cret"),), dirs=(DirGrant(tmp_path, "/data", False),)),
    )
    assert probe.call("test:isolation/probe@0.1.0#read-env", "SECRET") == "s3cret"
    assert probe.call("test:isolation/probe@0.1.0#read-file", "/data/secret.txt") == "the recipe"


@pytest.mark.parametrize(
    "deploy", ["", '[deploy]\nstrategy = "per-component"'], ids=["fused", "split"]
)
def test_a_dependency_is_denied_what_its_neighbour_was_granted(
    guest: Callable[[str], Path], tmp_path: Path, deploy: str
) -> None:
    app = App.load(write_app(tmp_path, guest, deploy), cache=tmp_path / "cache")
    assert len(app.units) == (1 if not deploy else 2)
    call = app.exports[VIEWS]
    assert isinstance(call, Interface)
    assert call["own-env"]("SECRET") == "s3cret"
    assert call["own-file"]("/data/secret.txt") == "the recipe"
    assert call["dep-env"]("SECRET") is None
    assert call["dep-file"]("/data/secret.txt") is None
    assert call["dep-env"]("PROBE_ONLY") == "mine"
    assert call["own-env"]("PROBE_ONLY") is None


def test_the_fused_unit_has_one_component_whose_probe_imports_no_host_environment(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    app = App.load(write_app(tmp_path, guest), cache=tmp_path / "cache")
    (plan,) = app.plans
    assert plan.components == ("probe", "front")
    composed = load_component(app.units["main"].loaded.path or "")
    imports = {item.name for item in composed.world.imports}
    assert "test:isolation/probe@0.1.0" not in imports  # fused, not linked through the host
    assert "wasi:cli/environment@0.2.12" in imports  # front's, served from its grants


def test_grants_an_adapter_cannot_separate_are_refused(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = write_app(tmp_path, guest, probe="stdin = true")
    with pytest.raises(PlanError) as err:
        App.load(manifest, cache=tmp_path / "cache")
    assert str(err.value) == (
        "components `probe` and `front` of unit `main` have different `stdin` grants, which one "
        "composed unit cannot keep apart; put them in different units in [deploy]"
    )
    split = write_app(tmp_path, guest, '[deploy]\nstrategy = "per-component"', probe="stdin = true")
    assert App.load(split, cache=tmp_path / "cache").call(f"{VIEWS}#dep-env", "SECRET") is None
