"""A failing tool's output as the developer needs it: their own paths, the message only.

Toolchains read a WIT directory from a copy in the build's scratch directory (with the WASI
packages added, `wasmesh.build.wasi.prepare_wit`), so their errors name the copy; and the
Python and JavaScript componentizers wrap their errors in their runtime's stack trace. The
message inside (with wasm-tools' `--> file:line:col` location) is what the developer acts on.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_PY_TRACEBACK = "Traceback (most recent call last):"
_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): ?(.*)$")
_PY_FRAME = re.compile(r'^\s+File "([^"]+)"', re.MULTILINE)
_NODE_FRAME = re.compile(r"^\s+at (?:async )?\S.*$")
_NODE_FOOTER = re.compile(r"^Node\.js v\d")


def user_paths(text: str, scratch: Path, wit_dir: Path | None) -> str:
    """`text` with the scratch copies of the WIT directory (`SCRATCH/.../wit`) named as the
    developer's `wit_dir`."""
    if wit_dir is None:
        return text
    copy = re.compile(re.escape(str(scratch)) + r"(?:/[^/\s\]'\"]+)*?/wit(?=[/\s\]'\":]|$)")
    return copy.sub(lambda _: str(wit_dir), text)


def without_traces(text: str) -> str:
    """`text` without the stack trace of the tool's own runtime around its error: a Python
    traceback whose frames are all the installed tool's, or Node.js frames inside
    `node_modules`. What remains starts at the error's message (its `SomeError: ` dropped).
    A trace through the developer's own code is left whole: its frames are where to look."""
    lines = text.splitlines()
    if not lines:
        return text
    if lines[0].startswith(_PY_TRACEBACK):
        frames = _PY_FRAME.findall(text)
        if not frames or not all(_is_tool(f) for f in frames):
            return text
    elif lines[0].startswith(("file://", "node:")):
        if "node_modules" not in lines[0] and not lines[0].startswith("node:"):
            return text
    else:
        return text
    start = next((i for i, line in enumerate(lines) if _ERROR_LINE.match(line)), None)
    if start is None:
        return text
    first = _ERROR_LINE.match(lines[start])
    assert first is not None
    kept = [first[2], *lines[start + 1 :]]
    kept = [ln for ln in kept if not _NODE_FOOTER.match(ln) and not _tool_frame(ln)]
    return "\n".join(kept).strip()


def _tool_frame(line: str) -> bool:
    """Whether `line` is a Node.js stack frame in the tool's (or Node's) own code."""
    return bool(_NODE_FRAME.match(line)) and ("node_modules" in line or "node:" in line)


def _is_tool(frame: str) -> bool:
    """Whether a traceback frame's file is installed code (the tool's), not the developer's."""
    return frame.startswith((sys.prefix, sys.base_prefix)) or "site-packages" in frame
