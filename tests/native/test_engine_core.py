"""The Rust engine core prototype (`wasmesh_native`) against real components from tests/guests.

The extension is opt-in: these tests run once `./dev native` has built it into the venv.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.native.guests import build
from tests.native.peers import Upstreams
from tests.support.wat import wat_component

native: Any = pytest.importorskip(
    "wasmesh_native",
    reason="the opt-in Rust engine core is not built: run `./dev native` to build and test it",
)

ADD = "demo:calc/math@0.1.0#add"

# A component whose export calls the imported host function `add` twice over.
HOST_FN_WAT = """
(component
  (import "test:host/fns" (instance $h
    (export "add" (func (param "a" s32) (param "b" s32) (result s32)))))
  (core func $add (canon lower (func $h "add")))
  (core module $m
    (import "h" "add" (func $add (param i32 i32) (result i32)))
    (func (export "twice") (param i32) (result i32) (call $add (local.get 0) (local.get 0))))
  (core instance $i (instantiate $m (with "h" (instance (export "add" (func $add))))))
  (func (export "twice") (param "x" s32) (result s32) (canon lift (core func $i "twice")))
)
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return native.Engine(str(tmp_path_factory.mktemp("aot")), serving=True)


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    with Upstreams() as up:
        yield up


def get(port: int, path: str, data: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_export_call_and_aot_cache(tmp_path: Path) -> None:
    wasm = build("calc-pure-c")
    first = native.Engine(str(tmp_path)).load(str(wasm))
    assert not first.from_cache
    again = native.Engine(str(tmp_path)).load(str(wasm))
    assert again.from_cache
    inst = again.instantiate()
    assert inst.call(ADD, 40, 2) == 42
    assert inst.call("demo:calc/math@0.1.0#greet", "wasm") == "Hello, wasm!"


def test_wrong_arguments_and_missing_export(engine: Any) -> None:
    inst = engine.load(str(build("calc-pure-c"))).instantiate()
    with pytest.raises(TypeError, match="takes 2 arguments"):
        inst.call(ADD, 1)
    with pytest.raises(ValueError, match="no export"):
        inst.call("demo:calc/math@0.1.0#nope")


def test_missing_component_is_one_sentence(engine: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist; build it or fix the path"):
        engine.load(str(tmp_path / "absent.wasm"))


def test_python_host_function(engine: Any) -> None:
    seen: list[tuple[int, int]] = []

    def add(a: int, b: int) -> int:
        seen.append((a, b))
        return a + b

    inst = engine.load(str(wat_component(HOST_FN_WAT))).instantiate(
        host={"test:host/fns": {"add": add}}
    )
    assert inst.call("twice", 21) == 42
    assert seen == [(21, 21)]


def test_host_function_that_raises_traps_the_call(engine: Any) -> None:
    def add(a: int, b: int) -> int:
        raise ValueError("no")

    inst = engine.load(str(wat_component(HOST_FN_WAT))).instantiate(
        host={"test:host/fns": {"add": add}}
    )
    with pytest.raises(RuntimeError, match="host function raised"):
        inst.call("twice", 1)


def test_deadline_stops_a_guest_that_never_returns(engine: Any) -> None:
    component = engine.load(str(build("loop-wat")))
    inst = component.instantiate(policy=native.Policy(deadline_ms=200))
    with pytest.raises(RuntimeError, match="spin trapped"):
        inst.call("spin")
    with pytest.raises(RuntimeError, match="cannot enter component instance"):
        inst.call("count", 10)  # a trapped instance is poisoned; a fresh one works
    assert component.instantiate(policy=native.Policy(deadline_ms=200)).call("count", 10) == 0


def test_memory_limit(engine: Any) -> None:
    component = engine.load(str(build("membomb-wat")))
    inst = component.instantiate(policy=native.Policy(memory=2 << 20))
    with pytest.raises(RuntimeError, match="grow trapped"):
        inst.call("grow")
    assert component.instantiate(policy=native.Policy(memory=2 << 20)).call("pages") <= 32


def test_bad_directory_grant_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a directory"):
        native.Policy(dirs=[(str(tmp_path / "absent"), "/data", True)])


@pytest.mark.slow
@pytest.mark.parametrize("reuse", [1, 50])
def test_serve_wasi_http_02(engine: Any, reuse: int) -> None:
    component = engine.load(str(build("http-hello-py")))
    with component.serve("127.0.0.1:0", max_reuse=reuse) as server:
        assert server.wasi_http == "0.2"
        for _ in range(3):
            assert get(server.port, "/") == (200, b"hello from python\n")


@pytest.mark.slow
def test_serve_wasi_http_03(engine: Any) -> None:
    component = engine.load(str(build("http-hello-p3-py")))
    with component.serve("127.0.0.1:0", max_reuse=10) as server:
        assert server.wasi_http == "0.3"
        assert get(server.port, "/p3") == (200, b"hello from WASI 0.3 /p3")


@pytest.fixture(scope="module")
def borrows(engine: Any) -> Any:
    return engine.load(str(build("http-borrows-py")))


@pytest.mark.slow
def test_poll_over_three_pollables(borrows: Any, upstreams: Upstreams) -> None:
    policy = native.Policy(allow_hosts=["127.0.0.1"])
    with borrows.serve("127.0.0.1:0", policy=policy) as server:
        assert get(server.port, f"/poll?port={upstreams.http_port}") == (200, b"poll 200 200 200")


@pytest.mark.slow
def test_outbound_outside_the_allow_list_is_denied(borrows: Any, upstreams: Upstreams) -> None:
    policy = native.Policy(allow_hosts=["example.com"])
    with borrows.serve("127.0.0.1:0", policy=policy) as server:
        status, body = get(server.port, f"/poll?port={upstreams.http_port}")
        assert (status, body) == (200, b"poll error error error")


@pytest.mark.slow
def test_splice(borrows: Any) -> None:
    body = b"spliced " * 10_000
    with borrows.serve("127.0.0.1:0") as server:
        assert get(server.port, "/splice", body) == (200, body)


@pytest.mark.slow
def test_tcp_connect_needs_the_network_grant(borrows: Any, upstreams: Upstreams) -> None:
    path = f"/tcp?port={upstreams.tcp_port}"
    with borrows.serve("127.0.0.1:0", policy=native.Policy(network=True)) as server:
        assert get(server.port, path) == (200, b"tcp pong")
    with borrows.serve("127.0.0.1:0") as server:
        status, body = get(server.port, path)  # socket creation is refused: the guest fails
        assert status != 200 and b"pong" not in body
