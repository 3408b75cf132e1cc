"""`wasi:keyvalue@0.2.0-draft2` from a componentize-py guest: every operation, grants, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import wasmesh
from wasmesh.api import Component
from wasmesh.capabilities.keyvalue.stores import close_all
from wasmesh.engine.values import Err, Ok
from wasmesh.errors import WasmeshError
from wasmesh.policy import Grants, StoreGrant

EXEC = "test:kv-counter/ops#exec"


@pytest.fixture(scope="module")
def counter(guest: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Component:
    db = tmp_path_factory.mktemp("kv") / "default.db"
    stores = (StoreGrant("default", "sqlite", str(db)), StoreGrant("cache", "memory", "t#cache"))
    return wasmesh.load(guest("kv-counter-py"), grants=Grants(key_value_stores=stores))


def run(c: Component, store: str, op: str, key: str = "", value: str = "") -> object:
    return c.call(EXEC, store, op, key, value)


@pytest.mark.parametrize("store", ["default", "cache"])
def test_store_operations(counter: Component, store: str) -> None:
    assert run(counter, store, "set", "a", "1") == Ok("ok")
    assert run(counter, store, "get", "a") == Ok("1")
    assert run(counter, store, "exists", "a") == Ok("true")
    assert run(counter, store, "get", "nope") == Ok("none")
    assert run(counter, store, "incr", "n", "5") == Ok("5")
    assert run(counter, store, "incr", "n", "-7") == Ok("-2")
    assert run(counter, store, "get", "n") == Ok("-2")
    assert run(counter, store, "setmany", "x,y", "1,2") == Ok("ok")
    assert run(counter, store, "getmany", "x,y,z") == Ok("x=1;y=2;z=none")
    assert run(counter, store, "keys") == Ok("a,n,x,y")
    assert run(counter, store, "deletemany", "x,y") == Ok("ok")
    assert run(counter, store, "delete", "a") == Ok("ok")
    assert run(counter, store, "exists", "a") == Ok("false")
    assert run(counter, store, "keys") == Ok("n")


@pytest.mark.parametrize("store", ["default", "cache"])
def test_compare_and_swap(counter: Component, store: str) -> None:
    assert run(counter, store, "cas", "c", "first") == Ok("swapped")  # absent key
    assert run(counter, store, "cas", "c", "second") == Ok("swapped")
    assert run(counter, store, "get", "c") == Ok("second")
    # a write between the read and the swap: the swap fails and hands back the new value
    assert run(counter, store, "casrace", "c", "third") == Ok("cas-failed meddled")
    assert run(counter, store, "get", "c") == Ok("meddled")


def test_list_keys_pages_through_many_keys(counter: Component) -> None:
    keys = [f"p{i:04}" for i in range(1500)]  # more than one page
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        assert run(counter, "cache", "setmany", ",".join(part), ",".join(part)) == Ok("ok")
    listed = str(run(counter, "cache", "keys").value).split(",")  # type: ignore[attr-defined]
    assert [k for k in listed if k.startswith("p")] == keys


def test_an_ungranted_store_is_access_denied(counter: Component) -> None:
    assert run(counter, "secret", "get", "a") == Err("access-denied")
    assert run(counter, "Default", "get", "a") == Err("access-denied")


def test_no_grant_at_all_denies_every_store(guest: Callable[[str], Path]) -> None:
    bare = wasmesh.load(guest("kv-counter-py"))
    assert run(bare, "default", "incr", "n") == Err("access-denied")


def test_incrementing_text_is_an_error_naming_the_key(counter: Component) -> None:
    run(counter, "cache", "set", "word", "hello")
    out = run(counter, "cache", "incr", "word")
    assert isinstance(out, Err) and "key `word` of store `cache`" in out.value


def test_an_overflowing_increment_is_an_error_and_writes_nothing(counter: Component) -> None:
    run(counter, "default", "set", "top", "9223372036854775807")
    out = run(counter, "default", "incr", "top", "1")
    assert isinstance(out, Err) and "would overflow" in out.value
    assert run(counter, "default", "get", "top") == Ok("9223372036854775807")
    assert run(counter, "default", "incr", "top", "-1") == Ok("9223372036854775806")
    run(counter, "default", "set", "huge", "1" * 30)
    out = run(counter, "default", "incr", "huge", "1")
    assert isinstance(out, Err) and "outside the counter range" in out.value


def test_a_corrupt_sqlite_file_stops_the_component_with_one_sentence(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    db = tmp_path / "bad.db"
    db.write_bytes(b"this is not a database" * 100)
    grants = Grants(key_value_stores=(StoreGrant("default", "sqlite", str(db)),))
    with pytest.raises(WasmeshError, match=r"corrupt or not a SQLite file; move it aside") as e:
        wasmesh.load(guest("kv-counter-py"), grants=grants)
    assert str(e.value).count(". ") == 0 and str(db) in str(e.value)
    assert db.read_bytes().startswith(b"this is not")  # left for the user to inspect


def teardown_module() -> None:
    close_all()



def test_a_c_guest_shares_a_store_with_a_python_guest(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    """The same grant from a component in another language (bindings by `wit-bindgen c`):
    one SQLite store, seen by both, and the same denial outside the grant."""
    grants = Grants(key_value_stores=(StoreGrant("default", "sqlite", str(tmp_path / "d.db")),))
    py = wasmesh.load(guest("kv-counter-py"), grants=grants)
    c = wasmesh.load(guest("kv-counter-c"), grants=grants)
    assert run(py, "default", "set", "shared", "from python") == Ok("ok")
    assert run(c, "default", "get", "shared") == Ok("from python")
    assert run(c, "default", "loopincr", "c-count", "250") == Ok("250")
    assert run(py, "default", "get", "c-count") == Ok("250")
    assert run(c, "cache", "get", "shared") == Err("access-denied")
    py.close()
    c.close()
