"""Pool sizes wasmesh chooses or accepts always fit the address space: under `ulimit -v` and
up to the largest size its own error message allows, a command answers or refuses in one
sentence (exit 2), and the engine never aborts the process (exit 134)."""

from __future__ import annotations

import os
import re
import resource
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.support.cli import BIN
from wasmesh.engine.pool import POOL_ENV

KB = 1000


def run(
    args: Sequence[str | Path],
    rlimit_as: int | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`wasmesh ARGS` in a subprocess, under RLIMIT_AS = `rlimit_as` bytes when given."""

    def limit() -> None:
        if rlimit_as is not None:
            resource.setrlimit(resource.RLIMIT_AS, (rlimit_as, rlimit_as))

    base = {k: v for k, v in os.environ.items() if k != POOL_ENV}
    return subprocess.run([str(BIN / "wasmesh"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env={**base, **(env or {})},
                          preexec_fn=limit, check=False)  # fmt: skip


def answered_or_refused(proc: subprocess.CompletedProcess[str], answer: str) -> None:
    assert proc.returncode != 134 and "panicked" not in proc.stderr, proc.stderr[-2000:]
    if proc.returncode == 0:
        assert proc.stdout.strip() == answer
    else:
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("kbytes", [64_000_000, 16_000_000, 4_000_000])
def test_a_default_pool_fits_under_ulimit_v(guest: Callable[[str], Path], kbytes: int) -> None:
    proc = run(["invoke", guest("calc-c"), "add", "1", "2"], rlimit_as=kbytes * KB)
    answered_or_refused(proc, "3")
    if kbytes >= 16_000_000:  # room for one on-demand instance at least
        assert proc.returncode == 0, proc.stderr


def test_every_size_the_error_allows_works(guest: Callable[[str], Path]) -> None:
    component = guest("calc-c")
    refused = run(["invoke", component, "add", "1", "2"], env={POOL_ENV: "1000000"})
    assert refused.returncode == 2, refused.stderr
    found = re.search(r"at most (\d+) instances", refused.stderr)
    assert found is not None, refused.stderr
    most = int(found.group(1))
    ok = run(["invoke", component, "add", "1", "2"], env={POOL_ENV: str(most)})
    assert (ok.returncode, ok.stdout.strip()) == (0, "3"), ok.stderr[-2000:]
    # the boundary moves a little with address space layout randomisation
    assert run(["invoke", component, "add", "1", "2"],
               env={POOL_ENV: str(most + most // 10)}).returncode == 2  # fmt: skip
    for size in (22_000, 25_000, 32_000):
        answered_or_refused(run(["invoke", component, "add", "1", "2"],
                                env={POOL_ENV: str(size)}), "3")  # fmt: skip


@pytest.mark.parametrize("command", ["serve", "up", "host"])
def test_a_pool_too_large_is_refused_before_serving(
    guest: Callable[[str], Path], tmp_path: Path, command: str
) -> None:
    targets: dict[str, list[str | Path]] = {
        "serve": [guest("calc-c"), "--listen", "127.0.0.1:0"],
        "up": [tmp_path, "--listen", "127.0.0.1:0"],
        "host": ["--nats", "nats://127.0.0.1:1", "--connect-timeout", "1s"],  # never reached
    }
    target = targets[command]
    for args, env in ((["--pool-instances", "25000"], {}), ([], {POOL_ENV: "25000"})):
        proc = run([command, *target, *args], env=env, timeout=60)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert "instances" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
