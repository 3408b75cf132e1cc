"""Build progress: a spinner on a terminal, one plain line per step elsewhere, silent when asked."""

from __future__ import annotations

import io
import re

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


def test_silent_when_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    for stream in (Terminal(), io.StringIO()):
        monkeypatch.setattr("sys.stderr", stream)
        with progress.step("calc", "compiling C", quiet=True):
            pass
        assert stream.getvalue() == ""


def test_one_plain_line_per_step_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    assert not progress.shows_progress(quiet=False)
    with progress.step("calc", "compiling C"):
        pass
    with progress.step("calc", "creating the component"):
        pass
    lines = plain.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"building calc: compiling C \(\d+\.\d s\)", lines[0])
    assert "\x1b" not in plain.getvalue(), "no terminal escapes in a log"


def test_a_failed_step_prints_no_line(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    with pytest.raises(RuntimeError), progress.step("calc", "compiling C"):
        raise RuntimeError("the tool failed")
    assert plain.getvalue() == ""


def test_a_slow_step_says_when_it_starts_and_how_long_it_takes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    with progress.step("shop", "componentize-py", expect="~30 s"):
        said = plain.getvalue()  # while the step runs, the log already names it
    assert said == "building shop: componentize-py (first time, ~30 s)...\n"
    assert re.fullmatch(r"building shop: componentize-py \(\d+\.\d s\)",
                        plain.getvalue().splitlines()[1])  # fmt: skip
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    with progress.step("shop", "componentize-py", expect="~30 s"):
        pass
    assert "building shop: componentize-py (first time, ~30 s)" in term.getvalue()


def test_compile_estimates_grow_with_the_size() -> None:
    assert progress.compile_estimate(1 << 20) == "~5 s"
    assert progress.compile_estimate(40_000_000) == "~40 s"
