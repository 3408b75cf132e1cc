"""A spinner naming the component and the elapsed time while a slow build step runs.

Silent when standard error is not a terminal or when the caller asks for quiet.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


def shows_progress(quiet: bool) -> bool:
    """Whether a spinner would be drawn: not quiet and standard error is a terminal."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def step(component: str, what: str, *, quiet: bool = False) -> Iterator[None]:
    """Show ``building COMPONENT: WHAT`` with a spinner and elapsed time until the block ends."""
    if not shows_progress(quiet):
        yield
        return
    console = Console(stderr=True)
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task(f"building {component}: {what}", total=None)
        yield
