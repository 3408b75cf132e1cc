"""Printing results and errors for the CLI."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from wasmesh.errors import GuestError, WasmeshError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


def fail(error: WasmeshError | GuestError) -> int:
    """Print `error` as one sentence (plus the guest backtrace, if any); return the exit code."""
    # Messages quote manifest tables (`[[triggers.http]]`): not rich markup.
    err_console.print(f"[bold red]error:[/bold red] {escape(str(error))}", markup=True)
    backtrace = getattr(error, "backtrace", "")
    if backtrace:
        err_console.print("guest backtrace:\n" + backtrace, style="dim", markup=False)
    return error.exit_code


def usage_error(error: click.ClickException, command_path: str = "wasmesh") -> int:
    """Print click's complaint about the command line (a bad option value, a missing
    argument, an unknown command) as one `error:` sentence naming the command's --help
    (`command_path`'s when click had not made the command's context yet);
    return its exit code (2 for usage errors, as click does)."""
    text = error.format_message().strip().rstrip(".")
    text = text[:1].lower() + text[1:]
    # click's suggestion is a second sentence ("... Did you mean --no-auth?"): fold it in
    text = re.sub(r"\.?\s+(Did you mean [^?]*)\?$", lambda m: f" ({m.group(1).lower()}?)", text)
    text = text.replace("(Possible options:", "(possible options:")
    ctx = getattr(error, "ctx", None)
    where = f"; see `{ctx.command_path if ctx is not None else command_path} --help`"
    err_console.print(f"[bold red]error:[/bold red] {escape(text)}{escape(where)}.", markup=True)
    return error.exit_code


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
