"""`wasmesh invoke` and `wasmesh inspect` on real guests, every WIT type kind, every error."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh, wasmesh_process

Guest = Callable[[str], Path]

# (function, argument in WAVE) → printed back unchanged, as `wasmtime run --invoke` prints it.
ROUND_TRIPS = [
    ("echo-bool", "true"),
    ("echo-s8", "-128"),
    ("echo-s16", "-32768"),
    ("echo-s32", "-2147483648"),
    ("echo-s64", "-9223372036854775808"),
    ("echo-u8", "255"),
    ("echo-u16", "65535"),
    ("echo-u32", "4294967295"),
    ("echo-u64", "18446744073709551615"),
    ("echo-f32", "0.1"),
    ("echo-f64", "-1.5"),
    ("echo-f64", "1e21"),
    ("echo-f64", "nan"),
    ("echo-char", "'é'"),
    ("echo-string", '"tab\\there \\"quoted\\" 😀"'),
    ("echo-bytes", "[0, 1, 255]"),
    ("echo-strings", '["a", "b"]'),
    ("echo-tuple", '(7, "seven")'),
    ("echo-shape", '{name: "sq", origin: {x: 1, y: -2}, tags: ["a"], label: some("l")}'),
    ("echo-shape", '{name: "sq", origin: {x: 0, y: 0}, tags: []}'),
    ("echo-event", "click({x: 3, y: 4})"),
    ("echo-event", "%none"),
    ("echo-event", "key('k')"),
    ("echo-color", "green"),
    ("echo-perms", "{read, exec}"),
    ("echo-perms", "{}"),
    ("echo-option", 'some("x")'),
    ("echo-option", "none"),
    ("echo-nested-option", "some(none)"),
    ("echo-nested-option", "some(some(3))"),
]


@pytest.mark.parametrize(("func", "arg"), ROUND_TRIPS)
def test_every_kind_round_trips(guest: Guest, func: str, arg: str) -> None:
    r = wasmesh("invoke", guest("kinds-py"), func, arg)
    assert (r.code, r.err) == (0, "")
    # wasmtime prints floats in full (Rust's Display), e.g. 1e21 as 1000000000000000000000.
    expected = "1" + "0" * 21 if arg == "1e21" else arg
    assert r.out == expected + "\n"


def test_results_and_several_parameters(guest: Guest) -> None:
    k = guest("kinds-py")
    assert wasmesh("invoke", k, "lookup", '"ann"').out == 'ok("ann")\n'
    assert wasmesh("invoke", k, "lookup", '""').out == "err(not-found)\n"
    assert wasmesh("invoke", k, "check", "false").out == "ok\n"
    assert wasmesh("invoke", k, "check", "true").out == 'err("failed")\n'
    assert wasmesh("invoke", k, 'describe(1, "b", [99])').out.startswith('"')


def test_json_in_and_out(guest: Guest) -> None:
    k = guest("kinds-py")
    shape = {"name": "j", "origin": {"x": 1, "y": 2}, "tags": ["t"], "label": None}
    r = wasmesh("invoke", k, "echo-shape", json.dumps(shape), "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == shape


def test_output_matches_wasmtime_run_invoke(guest: Guest) -> None:
    """The peer CLI prints the same text for the same calls (its compile cache is warm)."""
    calc = guest("calc-c")
    for call in ("add(40, 2)", 'greet("wasm")', "div(1, 3)", "checksum([1, 2, 3])"):
        ours = wasmesh("invoke", calc, call)
        peer = subprocess.run(
            [str(BIN / "wasmtime"), "run", "--invoke", call, str(calc)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ours.out == peer.stdout, call


def test_guest_trap_is_exit_1_with_backtrace(guest: Guest) -> None:
    r = wasmesh("invoke", guest("trap-wat"), "boom")
    assert r.code == 1
    assert "the guest trapped" in r.err and "guest backtrace" in r.err


def test_timeout_stops_infinite_loop(guest: Guest) -> None:
    r = wasmesh("invoke", guest("loop-wat"), "spin", "--timeout", "0.3")
    assert r.code == 1
    assert "time limit" in r.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "1"), "takes 2 arguments"),
        (("add", "1", "2", "3"), "takes 2 arguments"),
        (("add", "1", "x"), "argument `b`"),
        (("add", "1", "4294967296"), "out of range"),
        (("greet", "5"), "argument `name`"),
        (("sub", "1", "2"), "no export `sub`"),
        (("add(1, 2)", "3"), "not both"),
        (("add(1,",), "is not closed"),
        (("add", "1", "2", "--memory-limit", "lots"), "'lots' is not a size"),
        (("add", "1", "2", "--env", "NOVALUE"), "KEY=VALUE"),
    ],
)
def test_user_errors_are_one_sentence_exit_2(
    guest: Guest, args: tuple[str, ...], message: str
) -> None:
    r = wasmesh("invoke", guest("calc-c"), *args)
    assert r.code == 2
    assert message in r.err
    assert "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"hello", "not a WebAssembly file"),
        (b"\0asm\x01\0\0\0", "core WebAssembly module"),
        (b"\0asm\x0d\0\x01\0\x07\x05", "not a valid component"),
    ],
)
def test_bad_component_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "c.wasm"
    if content is not None:
        path.write_bytes(content)
    r = wasmesh("invoke", path, "f")
    assert (r.code, message in r.err) == (2, True), r.err


def test_real_process_has_no_traceback(tmp_path: Path) -> None:
    r = wasmesh_process("invoke", tmp_path / "missing.wasm", "f")
    assert r.code == 2
    assert r.err.startswith("error:") and "Traceback" not in r.err


def test_inspect_shows_every_kind(guest: Guest) -> None:
    r = wasmesh("inspect", guest("kinds-py"))
    assert r.code == 0
    for text in (
        "record point",
        "variant event",
        "enum color",
        "flags perms",
        "resource counter",
        "constructor(start: u32)",
        "echo-nested-option: func(v: option<option<u32>>) -> option<option<u32>>",
        "lookup: func(name: string) -> result<string, error-code>",
        "peek: func(c: borrow<counter>) -> u32",
        "echo-tuple: func(v: tuple<u32, string>) -> tuple<u32, string>",
        "echo-bytes: func(v: list<u8>) -> list<u8>",
    ):
        assert text in r.out, text


def test_inspect_json(guest: Guest) -> None:
    r = wasmesh("inspect", guest("calc-c"), "--json")
    data = json.loads(r.out)
    names = [e["name"] for e in data["exports"]]
    assert "demo:calc/math@0.1.0" in names
    assert any(i["name"].startswith("wasi:io/streams@") for i in data["imports"])


def test_a_function_without_result_prints_unit(tmp_path: Path) -> None:
    from tests.support.wat import wat_component

    ping = wat_component("""(component
  (core module $m (func (export "ping")))
  (core instance $i (instantiate $m))
  (func $ping (canon lift (core func $i "ping")))
  (export "ping" (func $ping))
)""")
    r = wasmesh("invoke", ping, "ping")
    assert (r.code, r.out) == (0, "()\n"), r.err  # as `wasmtime run --invoke` prints it
    r = wasmesh("invoke", ping, "ping", "--json")
    assert (r.code, r.out) == (0, "null\n"), r.err


@pytest.mark.parametrize("topology", ["monolith", "per-component"])
def test_invoke_app_names_an_ambiguous_export(tmp_path: Path, topology: str) -> None:
    from tests.compose.wat_parts import provider

    one, two = provider("a:x/one@1.0.0"), provider("b:x/two@1.0.0", bias=1)
    (tmp_path / "wasmesh.toml").write_text(
        f'[app]\nname = "amb"\n[components.one]\nsource = "{one}"\n'
        f'[components.two]\nsource = "{two}"\n'
    )
    r = wasmesh("invoke", "--app", tmp_path, "--topology", topology, "add", "1", "2")
    assert r.code == 2, r.err
    assert "`add` is ambiguous in app `amb`" in r.err
    assert "`a:x/one@1.0.0#add`" in r.err and "`b:x/two@1.0.0#add`" in r.err
    r = wasmesh("invoke", "--app", tmp_path, "--topology", topology, "b:x/two#add", "1", "2")
    assert (r.code, r.out) == (0, "4\n"), r.err
