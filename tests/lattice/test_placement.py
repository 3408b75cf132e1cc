"""Placement of units on live hosts: replicas, labels, spread, stability, reasons."""

from __future__ import annotations

from collections import Counter

from wasmesh.lattice.placement import assignments, place
from wasmesh.lattice.schema import DesiredState, Heartbeat, Placement, UnitSpec


def hosts(**labels: dict[str, str]) -> dict[str, Heartbeat]:
    return {h: Heartbeat(h, lab, 10) for h, lab in labels.items()}


def app(*units: UnitSpec, version: int = 1) -> DesiredState:
    return DesiredState("shop", version, units)


def test_replicas_go_to_distinct_hosts_with_the_required_labels() -> None:
    live = hosts(a={"zone": "x"}, b={"zone": "y"}, c={"zone": "x"})
    p = place(app(UnitSpec("u", "d", replicas=2, labels={"zone": "x"})), live)
    assert sorted(p.units["u"]) == ["a", "c"]
    assert p.reasons == {}


def test_spread_balances_across_label_values() -> None:
    live = hosts(a={"zone": "x"}, b={"zone": "x"}, c={"zone": "y"}, d={"zone": "y"}, e={})
    p = place(app(UnitSpec("u", "d", replicas=2, spread="zone")), live)
    zones = sorted(live[h].labels["zone"] for h in p.units["u"])
    assert zones == ["x", "y"]


def test_placement_is_stable_across_versions_and_balanced_across_units() -> None:
    live = hosts(a={}, b={}, c={})
    load: Counter[str] = Counter()
    first = place(app(UnitSpec("u", "d1"), UnitSpec("v", "d1")), live, None, load)
    assert len(set(first.units["u"]) | set(first.units["v"])) == 2
    second = place(app(UnitSpec("u", "d2"), UnitSpec("v", "d2"), version=2), live, first)
    assert second.units == first.units


def test_a_dead_host_is_replaced() -> None:
    live = hosts(a={}, b={})
    first = place(app(UnitSpec("u", "d")), live)
    (gone,) = first.units["u"]
    del live[gone]
    assert place(app(UnitSpec("u", "d")), live, first).units["u"] == list(live)


def test_units_short_of_hosts_say_why() -> None:
    live = hosts(a={"zone": "x"})
    p = place(app(UnitSpec("u", "d", labels={"gpu": "yes"}), UnitSpec("v", "d", replicas=3)), live)
    assert p.units["u"] == [] and "no live host has gpu=yes" in p.reasons["u"]
    assert p.units["v"] == ["a"] and "only 1 live host fit for 3 replicas" in p.reasons["v"]
    assert "no live host in the lattice" in place(app(UnitSpec("u", "d")), {}).reasons["u"]


def test_assignments_list_each_hosts_units() -> None:
    live = hosts(a={}, b={})
    desired = app(UnitSpec("u", "d", replicas=2), UnitSpec("v", "d"))
    out = assignments({"shop": (desired, place(desired, live))}, live)
    names = {h: sorted(s.name for s in a.apps.get("shop", ())) for h, a in out.items()}
    assert sorted(names["a"] + names["b"]) == ["u", "u", "v"]


def test_full_hosts_keep_their_units_but_take_no_new_ones() -> None:
    live = {"a": Heartbeat("a", {}, 0), "b": Heartbeat("b", {}, 3)}
    first = place(app(UnitSpec("u", "d", replicas=2)), live)
    assert first.units["u"] == ["b"] and "only 1 live host fit" in first.reasons["u"]
    kept = place(app(UnitSpec("u", "d")), {"a": live["a"]}, Placement("shop", 1, {"u": ["a"]}))
    assert kept.units["u"] == ["a"]
    full = place(app(UnitSpec("u", "d")), {"a": live["a"]})
    assert full.units["u"] == [] and "every fitting host is at capacity (a)" in full.reasons["u"]
