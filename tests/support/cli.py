"""Running the `wasmesh` command in-process (fast) or as a real process."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
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


def wasmesh_process(*args: str | Path, timeout: float = 120, **kw: object) -> Outcome:
    """Run `wasmesh ARGS` as a separate process."""
    base = kw.pop("env", None) or os.environ
    env = {**base, "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}"}  # type: ignore[attr-defined]
    proc = subprocess.run(
        [str(BIN / "wasmesh"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kw,  # type: ignore[arg-type]
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)
