"""A large component's world read from a stand-in equals the world of the component itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from wasmesh.compose.worlds import STAND_IN_ABOVE, world_of
from wasmesh.engine import load_component
from wasmesh.engine.world import FuncItem, World

pytestmark = pytest.mark.slow


def items(world: World) -> set[tuple[str, str, str, object]]:
    """Every function of the world, by direction and interface, order aside."""
    out: set[tuple[str, str, str, object]] = set()
    for direction, group in (("import", world.imports), ("export", world.exports)):
        for item in group:
            if isinstance(item, FuncItem):
                out.add((direction, "", item.name, item.sig))
            else:
                out.add((direction, item.name, "", tuple(sorted(item.resources))))
                out |= {(direction, item.name, f.name, f.sig) for f in item.funcs}
    return out


@pytest.mark.parametrize("name", ["kinds-py", "http-echo-py"])
def test_a_stand_in_has_the_same_world(
    guest: Callable[[str], Path], tmp_path: Path, name: str
) -> None:
    path = guest(name)
    assert path.stat().st_size > STAND_IN_ABOVE
    stand_in = world_of(path, tmp_path)
    (made,) = (tmp_path / "worlds").glob("*.wasm")
    assert made.stat().st_size < 1 << 20
    assert items(stand_in) == items(load_component(path).world)
