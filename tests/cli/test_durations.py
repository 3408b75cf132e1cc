"""Duration options of `serve`, `up` and `host`: plain seconds or `ms`/`s`/`m`/`h` suffixes (as
`wasmtime serve --idle-instance-timeout` takes them); non-finite, non-positive, absurd or
malformed values are one sentence, exit 2, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import wasmesh
from wasmesh.cli.options import parse_duration
from wasmesh.errors import WasmeshError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30.0), ("2.5", 2.5), ("500ms", 0.5), ("10s", 10.0), ("1m", 60.0), ("1h", 3600.0),
     (" 90S ", 90.0), ("1e3", 1000.0), ("168h", 7 * 24 * 3600.0)],
)  # fmt: skip
def test_durations_with_units(text: str, seconds: float) -> None:
    assert parse_duration("--idle-timeout", text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["inf", "-inf", "nan", "1e308", "169h", "0", "0ms", "-1", "10x", "s", "", "1 m s"]
)
def test_bad_durations_are_one_sentence(text: str) -> None:
    with pytest.raises(WasmeshError, match=r"^--request-timeout `.*`") as info:
        parse_duration("--request-timeout", text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("command", "flag"),
    [("serve", "--idle-timeout"), ("serve", "--request-timeout"), ("up", "--idle-timeout"),
     ("up", "--request-timeout"), ("host", "--idle-timeout"), ("host", "--drain-timeout"),
     ("host", "--connect-timeout")],
)  # fmt: skip
@pytest.mark.parametrize("value", ["inf", "nan", "1e308", "10x"])
def test_the_cli_refuses_bad_durations(tmp_path: Path, command: str, flag: str,
                                       value: str) -> None:  # fmt: skip
    target: list[str | Path] = []
    if command == "serve":
        target = [tmp_path / "missing.wasm"]
    elif command == "up":
        target = [tmp_path]
    else:
        target = ["--nats", "nats://127.0.0.1:1", "--connect-timeout", "1s"]
    r = wasmesh(command, *target, flag, value)
    assert r.code == 2, r.err
    assert r.err.startswith(f"error: {flag} `{value}`") and len(r.err.strip().splitlines()) == 1


def test_the_cli_takes_durations_with_units(tmp_path: Path) -> None:
    r = wasmesh("up", tmp_path, "--listen", "127.0.0.1:0", "--idle-timeout", "10s",
                "--request-timeout", "500ms")  # fmt: skip
    assert r.code == 2 and "timeout" not in r.err  # accepted; the empty app is what fails
    assert "wasmesh.toml" in r.err or "manifest" in r.err, r.err


@pytest.mark.parametrize("command", ["serve", "up"])
def test_help_gives_every_instance_option_its_default(command: str) -> None:
    import os

    from tests.support.cli import wasmesh_process

    out = wasmesh_process(command, "--help", env={**os.environ, "COLUMNS": "400"}).out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ --")}
    assert "[default: 30s]" in lines["--request-timeout"]
    assert "[default: cores]" in lines["--max-concurrent"]
    assert "lends its slot" in lines["--max-concurrent"]
    assert "--max-reuse above 1" in lines["--idle-timeout"] and "500ms" in lines["--idle-timeout"]
