"""Progress of slow build steps on standard error: which component, which step, how long.

On a terminal a spinner names the step and its elapsed time while it runs; elsewhere (CI, a
container's log, a pipe) each step prints one plain line with its elapsed time when it ends,
so a log shows what took the minutes, and a slow step (a componentizer, machine code for a
big component) a line when it starts too. Nothing when the caller asks for quiet.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


def shows_progress(quiet: bool) -> bool:
    """Whether a spinner would be drawn: not quiet and standard error is a terminal."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def step(component: str, what: str, *, quiet: bool = False,
         expect: str | None = None) -> Iterator[None]:  # fmt: skip
    """Show ``building COMPONENT: WHAT`` and the elapsed time until the block ends: a spinner
    on a terminal, else one line once the step has succeeded. A slow step says how long it
    usually takes (`expect`, e.g. ``"~30 s"``) and, off a terminal, also prints a line when
    it starts, so a log is never silent for the half minute it runs."""
    if quiet:
        yield
        return
    estimate = f" (first time, {expect})" if expect else ""
    if not sys.stderr.isatty():
        if expect:
            print(f"building {component}: {what}{estimate}...", file=sys.stderr, flush=True)
        started = time.monotonic()
        yield
        took = time.monotonic() - started
        print(f"building {component}: {what} ({took:.1f} s)", file=sys.stderr, flush=True)
        return
    console = Console(stderr=True)
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task(f"building {component}: {what}{estimate}", total=None)
        yield


def compile_estimate(size: int) -> str:
    """How long compiling a component of `size` bytes into machine code usually takes, as
    ``"~N s"`` (about a second per MB of wasm on one core, from the Python guests)."""
    seconds = max(5, round(size / 1e6 / 5) * 5)
    return f"~{seconds} s"
