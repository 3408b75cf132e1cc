"""Running the `wasmesh` command in-process (fast) or as a real process."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wasmesh.cli import main

BIN = Path(sys.executable).parent


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def wasmesh(*args: str | Path) -> Outcome:
    """Run `wasmesh ARGS` in this process through the real entry point."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["wasmesh", *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = argv
    return Outcome(code, out.getvalue(), err.getvalue())


def wasmesh_process(
    *args: str | Path,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
) -> Outcome:
    """Run `wasmesh ARGS` as a separate process (in `env`, default this one's, with the
    interpreter's bin first on PATH)."""
    base = env if env is not None else os.environ
    proc = subprocess.run(
        [str(BIN / "wasmesh"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**base, "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}"},
        cwd=cwd,
        input=input,
        check=False,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)
