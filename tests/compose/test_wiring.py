"""Wiring: every import finds its provider, or a clear error says why not, before any run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compose.wat_parts import both, consumer, provider
from wasmesh.compose.manifest import WiringRule
from wasmesh.compose.wiring import WiringError, default_host, wire
from wasmesh.engine import load_component
from wasmesh.engine.world import World
from wasmesh.names import compatible


def worlds(**paths: Path) -> dict[str, World]:
    return {name: load_component(path).world for name, path in paths.items()}


def test_one_compatible_provider_is_wired_automatically() -> None:
    graph = wire(
        worlds(
            app=consumer("app:c/run@0.1.0", "t:x/calc@1.0.0"),
            calc=provider("t:x/calc@1.3.0"),
        )
    )
    (link,) = graph.links_of("app")
    assert (link.kind, link.provider, link.export) == ("component", "calc", "t:x/calc@1.3.0")
    assert graph.links_of("calc") == ()


def test_missing_provider() -> None:
    with pytest.raises(WiringError) as err:
        wire(worlds(app=consumer("app:c/run@0.1.0", "t:x/calc@1.0.0")))
    assert str(err.value) == (
        "`app` imports `t:x/calc@1.0.0`, which no component exports and the host does not "
        "provide; add a component exporting it to wasmesh.toml"
    )


def test_host_interfaces_registered_by_name_satisfy_imports() -> None:
    graph = wire(
        worlds(app=consumer("app:c/run@0.1.0", "t:x/calc@1.0.0")),
        host=default_host(["t:x/calc@1.0.0"]),
    )
    assert [link.kind for link in graph.links] == ["host"]


def test_ambiguous_provider_needs_a_wiring_rule() -> None:
    w = worlds(
        app=consumer("app:c/run@0.1.0", "t:x/calc@1.0.0"),
        fast=provider("t:x/calc@1.0.0"),
        exact=provider("t:x/calc@1.1.0", bias=1),
    )
    with pytest.raises(WiringError, match=r"`fast`, `exact` all export; choose one in \[wiring\]"):
        wire(w)
    graph = wire(w, [WiringRule("app", "t:x/calc", "exact", line=7)])
    assert graph.links_of("app")[0].provider == "exact"


def test_a_rule_for_an_import_that_does_not_exist_names_its_line() -> None:
    w = worlds(app=consumer("app:c/run@0.1.0", "t:x/calc@1.0.0"), calc=provider("t:x/calc@1.0.0"))
    with pytest.raises(WiringError, match=r"^wasmesh.toml:9: component `app` imports no `t:x/cal`"):
        wire(w, [WiringRule("app", "t:x/cal", "calc", line=9)])


@pytest.mark.parametrize(
    ("wanted", "offered"), [("1.0.0", "2.0.0"), ("0.1.0", "0.2.0")], ids=["major", "0.x-minor"]
)
def test_incompatible_versions(wanted: str, offered: str) -> None:
    w = worlds(
        app=consumer("app:c/run@0.1.0", f"t:x/calc@{wanted}"),
        calc=provider(f"t:x/calc@{offered}"),
    )
    with pytest.raises(WiringError) as err:
        wire(w)
    assert str(err.value) == (
        f"`app` imports `t:x/calc@{wanted}` but `calc` exports `t:x/calc@{offered}`, an "
        "incompatible version; rebuild one of them against the same major version (same minor "
        "for 0.x)"
    )


def test_type_mismatch_names_both_signatures() -> None:
    w = worlds(
        app=consumer("app:c/run@0.1.0", "t:x/calc@1.0.0"),
        calc=provider("t:x/calc@1.0.0", param="u64"),
    )
    with pytest.raises(WiringError) as err:
        wire(w)
    assert str(err.value) == (
        "`add` of `t:x/calc@1.0.0` has different types in `app` (func(a: u32, b: u32) -> u32) "
        "and `calc` (func(a: u64, b: u64) -> u64); rebuild both against the same WIT"
    )


def test_cycles_are_refused() -> None:
    w = worlds(a=both("t:x/a@1.0.0", "t:x/b@1.0.0"), b=both("t:x/b@1.0.0", "t:x/a@1.0.0"))
    with pytest.raises(WiringError, match=r"in a cycle \(a → b → a\); components are"):
        wire(w)


def test_semver_rule() -> None:
    assert compatible("1.0.0", "1.9.2")
    assert not compatible("1.0.0", "2.0.0")
    assert compatible("0.2.0", "0.2.12")
    assert not compatible("0.2.0", "0.3.0")
    assert compatible("0.2.0-draft", "0.2.0-draft")
    assert compatible(None, None) and not compatible("1.0.0", None)
