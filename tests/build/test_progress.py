"""The build spinner: drawn on a terminal, silent otherwise or when asked."""

from __future__ import annotations

import io

import pytest

from wasmesh.build import progress


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_spinner_names_the_component_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    assert progress.shows_progress(quiet=False)
    with progress.step("calc", "compiling C"):
        pass
    assert "building calc: compiling C" in term.getvalue()
    assert "0:00:00" in term.getvalue(), "elapsed time is shown"


def test_silent_when_quiet_or_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    with progress.step("calc", "compiling C", quiet=True):
        pass
    assert term.getvalue() == ""
    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    assert not progress.shows_progress(quiet=False)
    with progress.step("calc", "compiling C"):
        pass
    assert plain.getvalue() == ""
