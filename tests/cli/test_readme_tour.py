"""The README's five-minute tour, executed: every shell and Python block of the section, run
against a copy of `examples/`, each shown output checked, so the README cannot drift.

Conventions the README follows (and this test reads): `cmd  # → OUT` or `# → OUT` lines after
a command give its standard output, line by line; a command ending in `&` is a server, started
in the background on an ephemeral port that replaces the one it names (later commands'
`localhost:PORT` follow it) and stopped at the end of its block; `cd DIR` moves the commands
after it. In Python blocks, `EXPR  # → VALUE` means `repr(EXPR) == VALUE` and
`# prints: TEXT` that standard output holds TEXT.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import BIN
from tests.support.processes import Served

ROOT = Path(__file__).resolve().parents[2]
SECTION = ("## Five-minute tour", "## Applications")
ARROW = "# → "


def tour_blocks() -> list[tuple[str, list[str]]]:
    """The fenced blocks of the tour section: (language, lines)."""
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION[0])
    section = text[start : text.index(SECTION[1], start)]
    return [(m[1], m[2].splitlines()) for m in re.finditer(r"```(\w+)\n(.*?)```", section, re.S)]


def commands(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Each command of a shell block with the output lines shown for it."""
    found: list[tuple[str, list[str]]] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(ARROW) and found:
            found[-1][1].append(stripped.removeprefix(ARROW))
        elif stripped and not stripped.startswith("#"):
            command, _, shown = stripped.partition(ARROW)
            command = re.sub(r"\s+#\s.*$", "", command).strip()  # a trailing comment
            found.append((command, [shown.strip()] if shown else []))
    return found


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/ (without build outputs), where the tour's commands run."""
    root = tmp_path_factory.mktemp("tour")
    shutil.copytree(
        ROOT / "examples", root / "examples", ignore=shutil.ignore_patterns(".wasmesh", "*.wasm")
    )
    return root


def run_shell_block(lines: list[str], cwd: Path) -> Path:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    servers: list[Served] = []
    ports: dict[str, str] = {}
    try:
        for command, shown in commands(lines):
            for named, actual in ports.items():
                command = command.replace(f"localhost:{named}", f"127.0.0.1:{actual}")
            argv = shlex.split(command)
            if argv[0] == "cd":
                cwd = (cwd / argv[1]).resolve()
                continue
            if argv[-1] == "&":
                named = next(a.rpartition(":")[2] for a in argv if a.startswith("127.0.0.1:"))
                argv = [a.replace(f":{named}", ":0") for a in argv[:-1]]
                server = Served([str(BIN / argv[0]), *argv[1:]], cwd=cwd)
                servers.append(server)
                ports[named] = str(server.address[1])
                continue
            done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                                  timeout=600, check=False)  # fmt: skip
            assert done.returncode == 0, f"`{command}` failed:\n{done.stderr}"
            if shown:
                assert done.stdout.splitlines() == shown, f"`{command}` printed:\n{done.stdout}"
    finally:
        for server in servers:
            server.stop()
    return cwd


def run_python_block(lines: list[str], cwd: Path) -> None:
    script: list[str] = []
    printed: list[str] = []
    for line in lines:
        code, _, value = line.partition(ARROW)
        if "# prints: " in line:
            code, _, text = line.partition("# prints: ")
            printed.append(text.strip())
        if value:
            script.append(f"assert repr({code.strip()}) == {value.strip()!r}, {code.strip()!r}")
        else:
            script.append(code.rstrip())
    done = subprocess.run([sys.executable, "-c", "\n".join(script)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for text in printed:
        assert text in done.stdout.splitlines()


@pytest.mark.slow
def test_the_tour_runs_as_written(workdir: Path) -> None:
    blocks = tour_blocks()
    assert [lang for lang, _ in blocks].count("sh") >= 2 and any(
        lang == "python" for lang, _ in blocks
    )
    cwd = workdir
    for lang, lines in blocks:
        if lang == "sh":
            cwd = run_shell_block(lines, cwd)
        elif lang == "python":
            run_python_block(lines, cwd)


def test_the_tour_reader_sees_commands_and_their_output() -> None:
    lines = [
        "# a comment",
        "wasmesh invoke calc.wasm add 1 2          # → 3",
        "wasmesh run tool.wasm -- a   # why",
        "# → hello",
        "# → arg: a",
    ]
    assert commands(lines) == [
        ("wasmesh invoke calc.wasm add 1 2", ["3"]),
        ("wasmesh run tool.wasm -- a", ["hello", "arg: a"]),
    ]
