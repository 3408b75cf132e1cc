"""Where wasmesh finds the external tools it runs (wasm-tools, componentize-py, jco,
componentize-js, nats-server).

`scripts/setup.py` installs them beside the Python interpreter that runs wasmesh (the virtual
environment's ``bin/``), so they are looked up there first and on ``PATH`` after: a
``.venv/bin/wasmesh`` started without activating the environment still finds them.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def tool_dirs() -> list[Path]:
    """The interpreter's own ``bin`` directories, in lookup order, without duplicates."""
    dirs: list[Path] = []
    for d in (Path(sys.executable).parent, Path(sys.prefix) / "bin"):
        if d not in dirs:
            dirs.append(d)
    return dirs


def search_path() -> str:
    """A ``PATH`` value: the interpreter's ``bin`` directories, then the caller's ``PATH``."""
    return os.pathsep.join([*map(str, tool_dirs()), os.environ.get("PATH", "")])


def which(name: str) -> str | None:
    """The path of executable ``name`` beside the interpreter or on ``PATH``; ``None`` if
    neither has it."""
    return shutil.which(name, path=search_path())
