"""Mistakes on the command line click catches itself (a bad option value, a missing argument,
an unknown option or command) are one `error:` sentence naming the command's --help, exit 2,
like every other user error; --help, --version and a bare group still exit 0."""

from __future__ import annotations

import pytest

from tests.support.cli import wasmesh


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["serve", "x.wasm", "--workers", "abc"],
         "error: invalid value for '--workers': 'abc' is not a valid integer; "
         "see `wasmesh serve --help`."),
        (["plan", "x.toml", "--max-p99", "abc"],
         "error: invalid value for '--max-p99': 'abc' is not a valid float; "
         "see `wasmesh plan --help`."),
        (["serve"], "error: missing argument 'COMPONENT'; see `wasmesh serve --help`."),
        (["serve", "x.wasm", "--nope"],
         "error: no such option: --nope; see `wasmesh serve --help`."),
        (["nosuch"], "error: no such command 'nosuch'; see `wasmesh --help`."),
        (["cache", "nosuch"], "error: no such command 'nosuch'; see `wasmesh cache --help`."),
        (["serv"], "error: no such command 'serv' (did you mean 'serve'?); see `wasmesh --help`."),
        (["up", "--noauth"],
         "error: no such option: --noauth (possible options: --nats, --watch); "
         "see `wasmesh up --help`."),
        (["serve", "x.wasm", "--workers"],
         "error: option '--workers' requires an argument; see `wasmesh serve --help`."),
    ],
)  # fmt: skip
def test_a_usage_error_is_one_sentence(argv: list[str], said: str) -> None:
    got = wasmesh(*argv)
    assert got.code == 2
    assert got.err.strip() == said
    assert got.out == ""


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["--version"], ["cache"]])
def test_help_and_version_still_succeed(argv: list[str]) -> None:
    got = wasmesh(*argv)
    assert got.code == 0
    assert got.out.strip()
    assert got.err == ""
