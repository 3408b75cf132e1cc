"""Turning the engine's failures into wasmesh's guest errors.

wasmtime reports a trap as one error whose text holds the guest backtrace followed by the
cause ("wasm trap: interrupt", "wasm `unreachable` instruction executed", ...). wasmesh keeps
the backtrace separately and says in one sentence what happened.
"""

from __future__ import annotations

import re

import wasmtime

from wasmesh.errors import (
    GuestError,
    GuestExit,
    GuestOutOfFuel,
    GuestOutOfMemory,
    GuestTimeout,
    GuestTrap,
    WasmeshError,
)

_FRAME = re.compile(r"^\s*\d+:\s+0x[0-9a-f]+\s+-\s+", re.MULTILINE)
_CHAIN_INDEX = re.compile(r"^\d+:\s*")
_BUG_FIELD = re.compile(r"^(location|version): (.+)$", re.MULTILINE)


def _engine_bug(cause: str, text: str) -> str:
    """One sentence for wasmtime's "BUG: ..." trap: the defect, which version, and where."""
    fields = dict(_BUG_FIELD.findall(text))
    what = cause.removeprefix("BUG:").strip()
    version = f" {fields['version']}" if "version" in fields else ""
    where = f" at {fields['location']}" if "location" in fields else ""
    return f"wasmtime{version} hit an internal error{where}: {what}"


def split_trap_text(text: str) -> tuple[str, str]:
    """(cause, backtrace) of a wasmtime error message."""
    lines = text.strip().splitlines()
    backtrace = "\n".join(line for line in lines if _FRAME.match(line))
    cause = ""
    if "Caused by:" in text:
        tail = text.split("Caused by:", 1)[1].splitlines()
        # The cause chain is the indented lines; an engine bug report adds an unindented
        # paragraph after it (location, version, a request to report it) that is no cause.
        chain = [c.strip() for c in tail if c[:1].isspace() and c.strip()]
        causes = [_CHAIN_INDEX.sub("", c) for c in chain]
        cause = causes[-1] if causes else ""
        if cause.startswith("BUG:"):
            cause = _engine_bug(cause, text)
    if not cause:
        non_frames = [
            line.strip()
            for line in lines
            if not _FRAME.match(line) and "wasm backtrace" not in line and line.strip()
        ]
        cause = non_frames[-1] if non_frames else text.strip()
    return cause, backtrace


_OOM_HINTS = ("out of memory", "memory allocation", "memory.grow", "exceeds memory limits",
              "MemoryError", "memory limit")  # fmt: skip


def guest_error(exc: BaseException, *, memory_limited: bool = False) -> BaseException:
    """The wasmesh error for an engine failure `exc` (other exceptions pass through)."""
    if isinstance(exc, (GuestError, WasmeshError)):
        return exc
    if isinstance(exc, wasmtime.ExitTrap):
        return GuestExit(exc.code)
    if not isinstance(exc, (wasmtime.WasmtimeError, wasmtime.Trap)):
        return exc
    text = str(exc)
    cause, backtrace = split_trap_text(text)
    if "interrupt" in cause:
        return GuestTimeout("the guest ran past its time limit and was stopped", backtrace)
    if "all fuel consumed" in text:
        return GuestOutOfFuel("the guest used up its fuel and was stopped", backtrace)
    if any(h in text for h in _OOM_HINTS) or (memory_limited and "memory" in cause.lower()):
        return GuestOutOfMemory(
            f"the guest ran out of memory under its memory limit ({cause})", backtrace
        )
    return GuestTrap(f"the guest trapped: {cause}", backtrace)
