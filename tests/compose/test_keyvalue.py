"""`[key-value.NAME]` tables and `key-value-stores` grants: store grants in each policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmesh.compose.manifest import parse_manifest
from wasmesh.errors import ManifestError
from wasmesh.policy import Policy, StoreGrant

HEAD = """\
[app]
name = "shop"

[components.counter]
source = "counter.wasm"
"""


def parse(text: str, root: Path = Path("/app")) -> dict[str, tuple[StoreGrant, ...]]:
    manifest = parse_manifest(HEAD + text, root / "wasmesh.toml")
    return {c.name: c.policy.grants.key_value_stores for c in manifest.components}


def test_default_is_a_sqlite_file_in_the_state_directory() -> None:
    grants = parse('key-value-stores = ["default"]\n')
    assert grants["counter"] == (StoreGrant("default", "sqlite", "/app/.wasmesh/state/default.db"),)


def test_declared_stores_with_each_backend() -> None:
    grants = parse(
        'key-value-stores = ["default", "cache", "shared", "db"]\n'
        '[components.other]\nsource = "other.wasm"\n'
        '[key-value.cache]\nbackend = "memory"\n'
        '[key-value.shared]\nbackend = "nats"\nbucket = "orders"\nurl = "nats://10.0.0.1:4222"\n'
        '[key-value.db]\npath = "data/db.sqlite"\n'
    )
    assert grants["counter"] == (
        StoreGrant("default", "sqlite", "/app/.wasmesh/state/default.db"),
        StoreGrant("cache", "memory", "/app#cache"),
        StoreGrant("shared", "nats", "orders/shop.shared;nats://10.0.0.1:4222"),
        StoreGrant("db", "sqlite", "/app/data/db.sqlite"),
    )
    assert grants["other"] == ()  # declaring a store grants it to no one


def test_store_grants_travel_in_the_policy_json() -> None:
    grants = parse('key-value-stores = ["default"]\n[key-value.default]\nbackend = "memory"\n')
    policy = Policy()
    policy = Policy(type(policy.grants)(key_value_stores=grants["counter"]))
    assert Policy.from_json(policy.to_json()) == policy


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('key-value-stores = ["cache"]\n', r"store `cache` has no \[key-value.cache\] table"),
        ('key-value-stores = ["Bad Name"]\n', r"named `Bad Name`; a store name is lowercase"),
        ('key-value-stores = "default"\n', r"key-value-stores"),
        ('[key-value."Big"]\n', r"\[key-value.Big\] is named `Big`"),
        ('[key-value.c]\nbackend = "redis"\n', r"unknown key-value backend `redis`; use one of"),
        ('[key-value.c]\nbackend = "memory"\npath = "x"\n', r"`path` applies to the sqlite"),
        ('[key-value.c]\nbackend = "nats"\nbucket = "a.b"\n', r"bucket `a.b` must be letters"),
        ("[key-value.c]\nttl = 3\n", r"ttl"),
        (
            '[key-value.c]\nbackend = "nats"\nurl = "http://127.0.0.1:4222"\n',
            r"NATS URL 'http://127.0.0.1:4222' is not valid; use nats://HOST:PORT",
        ),
    ],
)
def test_bad_store_tables_are_one_sentence_with_the_line(text: str, said: str) -> None:
    with pytest.raises(ManifestError, match=said) as e:
        parse(text)
    assert str(e.value).startswith("wasmesh.toml:")


def test_a_store_granted_twice_is_a_manifest_error_with_the_line() -> None:
    with pytest.raises(ManifestError, match=r"^wasmesh.toml:6: store `default` is listed twice"):
        parse('key-value-stores = ["default", "cache", "default"]\n[key-value.cache]\n')


def test_a_unit_serves_its_members_stores_and_refuses_members_that_differ() -> None:
    from wasmesh.compose.units import PlanError, plan_units
    from wasmesh.compose.wiring import wire
    from wasmesh.engine.types import FuncSig
    from wasmesh.engine.world import FuncItem, InterfaceItem, World

    calc = InterfaceItem("t:x/calc@1.0.0", (FuncItem("add", FuncSig((), None)),), ())
    store = InterfaceItem("wasi:keyvalue/store@0.2.0-draft2", (), ("bucket",))
    worlds = {
        "front": World(imports=(calc, store), exports=(FuncItem("run", FuncSig((), None)),)),
        "calc": World(imports=(store,), exports=(calc,)),
    }
    text = (
        '[app]\nname = "t"\n[components.front]\nsource = "front.wasm"\n{front}'
        '[components.calc]\nsource = "calc.wasm"\n{calc}[key-value.cache]\nbackend = "memory"\n'
    )
    same = 'key-value-stores = ["default"]\n'
    fused = plan_units(
        parse_manifest(text.format(front=same, calc=same), Path("/t/wasmesh.toml")), wire(worlds)
    )
    assert [s.name for s in fused[0].policy.grants.key_value_stores] == ["default"]
    differ = text.format(front=same, calc='key-value-stores = ["default", "cache"]\n')
    with pytest.raises(PlanError, match="have different `key-value-stores` grants"):
        plan_units(parse_manifest(differ, Path("/t/wasmesh.toml")), wire(worlds))
    split = parse_manifest(differ + '[deploy]\nstrategy = "per-component"\n', Path("/t/w.toml"))
    stores = {p.name: [s.name for s in p.policy.grants.key_value_stores]
              for p in plan_units(split, wire(worlds))}  # fmt: skip
    assert stores == {"front": ["default"], "calc": ["default", "cache"]}
