"""`./dev native` (scripts/native.py) and bench/engine_core.py refuse bad input with one sentence;
none of these builds or needs the extension."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_dev_native_help_says_what_it_does_without_building() -> None:
    got = run("scripts/native.py", "--help")
    assert got.returncode == 0
    assert "--clean" in got.stdout and "toolchain.toml" in got.stdout


def test_dev_native_refuses_an_unknown_argument_in_one_sentence() -> None:
    got = run("scripts/native.py", "--cleen")
    assert got.returncode == 2
    assert got.stderr.strip() == "./dev native takes only --clean or --help, not '--cleen'"


def test_a_second_dev_native_while_one_builds_says_so_and_leaves_it_alone() -> None:
    lock = ROOT / ".venv" / "native-build.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # what a running build holds
        got = run("scripts/native.py")
    assert got.returncode == 1
    assert got.stderr.strip() == (
        "another ./dev native is building in this checkout; wait for it to finish"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--only=foo"], "unknown section foo; choose from http, borrows, calls, instances, build"),
        (["--only", "http,nope"], "unknown section nope; choose from"),
        (["--guests=nope"], "unknown guest nope; choose from http-hello-py, http-echo-py"),
        (["abc"], "seconds per wrk run must be a number ≥ 1, not 'abc'"),
    ],
)
def test_the_engine_core_bench_refuses_bad_input_in_one_sentence(
    args: list[str], says: str
) -> None:
    got = run("bench/engine_core.py", *args)
    assert got.returncode == 2
    assert says in got.stderr
    assert len(got.stderr.strip().splitlines()) == 1 and got.stdout == ""


def test_the_engine_core_bench_prints_the_reference_build_on_a_fresh_clone() -> None:
    got = run("bench/engine_core.py", "--only", "build")
    assert got.returncode == 0, got.stderr
    assert "reference machine (the project's shared 2-core machine, 2026-11-30 15:21 UTC): " \
           "clean release build 101.3 min wall" in got.stdout  # fmt: skip
    assert "your last ./dev native: " in got.stdout
