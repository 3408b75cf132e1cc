"""A counter app under `wasmesh up`, over real HTTP: exact counts under concurrency, durable
across a restart, one SQLite store shared by a Python (draft2) and a JS (draft) component,
and a component without the grant denied."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh
from tests.support.httpguests import build_http_guest
from tests.support.processes import Served
from wasmesh.capabilities.keyvalue.sqlite import SqliteBackend
from wasmesh.lattice.server import NatsServer, start_server

INCREMENTS = 1000


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = start_server(0, tmp_path_factory.mktemp("jetstream"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app(
    guest: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory, nats_server: NatsServer
) -> Path:
    root = tmp_path_factory.mktemp("counter-app")
    (root / "wasmesh.toml").write_text(f"""\
[app]
name = "counter"

[components.counter]
source = "{guest("kv-counter-py")}"
key-value-stores = ["default", "shared"]

[components.counterjs]
source = "{build_http_guest("kv-counter-js")}"
key-value-stores = ["default", "shared"]

[key-value.shared]
backend = "nats"
url = "{nats_server.url}"
bucket = "counters"

[components.locked]
source = "{guest("kv-counter-py")}"

[[triggers.http]]
route = "/py/..."
component = "counter"

[[triggers.http]]
route = "/js/..."
component = "counterjs"

[[triggers.http]]
route = "/locked/..."
component = "locked"

[deploy]
strategy = "per-component"
""")
    return root


@pytest.fixture
def up(app: Path) -> Iterator[Callable[[], Served]]:
    """Start `wasmesh up` on the app (again); every one started is stopped afterwards."""
    started: list[Served] = []

    def start() -> Served:
        served = Served([str(BIN / "wasmesh"), "up", str(app), "--listen", "127.0.0.1:0"])
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture(scope="module")
def served(app: Path) -> Iterator[Served]:
    """One `wasmesh up` of the app shared by the tests that do not restart it."""
    served = Served([str(BIN / "wasmesh"), "up", str(app), "--listen", "127.0.0.1:0"])
    yield served
    served.stop()


def get(served: Served, path: str) -> tuple[int, str]:
    status, _, body = served.request("GET", path)
    return status, body.decode()


@pytest.mark.slow
def test_concurrent_increments_are_exact_and_survive_a_restart(
    up: Callable[[], Served], app: Path
) -> None:
    served = up()

    def one(_: int) -> int:
        conn = http.client.HTTPConnection(*served.address, timeout=120)
        try:
            conn.request("GET", "/py/incr/default/hits")
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(one, range(INCREMENTS)))
    assert statuses == [200] * INCREMENTS
    assert get(served, "/py/get/default/hits") == (200, str(INCREMENTS))
    served.stop()

    assert (app / ".wasmesh" / "state" / "default.db").is_file()
    again = up()
    assert get(again, "/py/get/default/hits") == (200, str(INCREMENTS))
    # the JS component (wasmCloud's draft) sees the same store and counts on
    assert get(again, "/js/incr/default/hits") == (200, str(INCREMENTS + 1))


def test_both_drafts_share_one_store_over_http(served: Served) -> None:
    assert get(served, "/js/setmany/default/a,b?value=1,2") == (200, "ok")
    assert get(served, "/py/getmany/default/a,b,c") == (200, "a=1;b=2;c=none")
    assert get(served, "/js/getmany/default/a,b,c") == (200, "a=1;b=2;c=none")
    assert get(served, "/py/set/default/c?value=3") == (200, "ok")
    assert get(served, "/js/get/default/c") == (200, "3")
    assert get(served, "/js/exists/default/c") == (200, "true")
    assert get(served, "/js/deletemany/default/a,b,c") == (200, "ok")
    assert get(served, "/py/exists/default/a") == (200, "false")
    assert "a" not in get(served, "/js/keys/default/-")[1].split(",")


def test_a_component_without_the_grant_gets_access_denied(served: Served) -> None:
    assert get(served, "/locked/incr/default/hits") == (403, "access-denied")
    assert get(served, "/py/get/cache/x") == (403, "access-denied")
    assert get(served, "/js/get/cache/x") == (403, "access-denied")


def test_graph_shows_each_components_store_grants(app: Path) -> None:
    out = wasmesh("graph", app)
    assert out.code == 0, out.err
    blocks = out.out.split("unit ")
    counter = next(b for b in blocks if b.startswith("counter "))
    locked = next(b for b in blocks if b.startswith("locked "))
    assert "grant key-value-stores: default (sqlite)" in counter
    assert "key-value-stores" not in locked


def test_draft_list_keys_pages_by_offset(served: Served) -> None:
    keys = [f"page{i:04}" for i in range(1500)]  # two pages of the draft's offset cursor
    for start in range(0, len(keys), 500):
        part = ",".join(keys[start : start + 500])
        assert get(served, f"/js/setmany/default/{part}?value={part}") == (200, "ok")
    listed = get(served, "/js/keys/default/-")[1].split(",")
    assert [k for k in listed if k.startswith("page")] == keys
    assert get(served, "/py/keys/default/-")[1].split(",") == listed  # draft2: key cursor


@pytest.mark.parametrize("damage", ["garbage", "valid-header"])
def test_up_refuses_a_corrupt_store_in_one_sentence(
    guest: Callable[[str], Path], tmp_path: Path, damage: str
) -> None:
    state = tmp_path / ".wasmesh" / "state"
    state.mkdir(parents=True)
    if damage == "garbage":
        (state / "default.db").write_bytes(b"not sqlite" * 500)
    else:  # acknowledged writes, then 800 bytes overwritten past the valid header
        store = SqliteBackend("default", state / "default.db")
        for i in range(40):
            store.set(f"a{i}", b"acknowledged")
        store.close()
        with (state / "default.db").open("r+b") as f:
            f.seek(4104)
            f.write(bytes(range(200)) * 4)
    before = (state / "default.db").read_bytes()
    (tmp_path / "wasmesh.toml").write_text(f"""\
[app]
name = "corrupt"

[components.counter]
source = "{guest("kv-counter-py")}"
key-value-stores = ["default"]

[[triggers.http]]
route = "/..."
component = "counter"
""")
    out = wasmesh("up", tmp_path, "--listen", "127.0.0.1:0")
    assert out.code == 2
    assert out.err.strip() == (
        f"error: the database of key-value store `default` ({state / 'default.db'}) is corrupt "
        "or not a SQLite file; move it aside (a new one is then created) or restore it from a "
        "backup."
    )
    assert (state / "default.db").read_bytes() == before


@pytest.mark.parametrize("lattice", [False, True])
def test_up_refuses_a_nats_store_without_a_url_naming_its_line(
    guest: Callable[[str], Path], tmp_path: Path, nats_server: NatsServer, lattice: bool
) -> None:
    (tmp_path / "wasmesh.toml").write_text(f"""\
[app]
name = "nourl"

[components.counter]
source = "{guest("kv-counter-py")}"
key-value-stores = ["shared"]

[key-value.shared]
backend = "nats"

[[triggers.http]]
route = "/..."
component = "counter"
""")
    extra = ("--nats", nats_server.url) if lattice else ()
    out = wasmesh("up", tmp_path, "--listen", "127.0.0.1:0", *extra)
    assert out.code == 2
    assert out.err.strip() == (
        "error: wasmesh.toml:8: key-value store `shared` uses the nats backend without a `url`, "
        'which only a lattice host supplies; add `url = "nats://HOST:4222"` to '
        "[key-value.shared] or deploy the app to a lattice"
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:4222", "nats://127.0.0.1:1"], ids=["scheme", "unreachable"]
)
def test_up_refuses_a_nats_store_it_cannot_use_in_one_sentence(
    guest: Callable[[str], Path], tmp_path: Path, url: str
) -> None:
    (tmp_path / "wasmesh.toml").write_text(f"""\
[app]
name = "badurl"

[components.counter]
source = "{guest("kv-counter-py")}"
key-value-stores = ["shared"]

[key-value.shared]
backend = "nats"
url = "{url}"

[[triggers.http]]
route = "/..."
component = "counter"
""")
    out = wasmesh("up", tmp_path, "--listen", "127.0.0.1:0", "--workers", "1")
    assert out.code == 2
    said = out.err.strip()
    if url.startswith("http"):
        assert said == (
            "error: wasmesh.toml:10: NATS URL 'http://127.0.0.1:4222' is not valid; use "
            "nats://HOST:PORT (or tls://HOST:PORT), e.g. nats://127.0.0.1:4222"
        )
    else:
        assert said == (
            "error: key-value store `shared` cannot connect to NATS at nats://127.0.0.1:1 "
            "(connection refused); start NATS there or fix `url` in [key-value.shared]."
        )


def test_a_nats_store_under_up_is_shared_by_both_drafts(served: Served) -> None:
    assert get(served, "/py/incr/shared/visits?value=40") == (200, "40")
    assert get(served, "/js/incr/shared/visits?value=2") == (200, "42")
    assert get(served, "/py/cas/shared/visits?value=100") == (200, "swapped")
    assert get(served, "/js/get/shared/visits") == (200, "100")
    assert get(served, "/js/keys/shared/-") == (200, "visits")
