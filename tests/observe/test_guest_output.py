"""Guest output of app units run by wasmtime's native WASI (what messaging and cron handlers
are) joins a serving process's log tagged with the component, as HTTP guests' output does."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from wasmesh.observe import requestlog
from wasmesh.runtime.app import App

TOUR = Path(__file__).resolve().parents[2] / "examples" / "tour"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_app_units_output_is_tagged_with_its_component(log_format: str) -> None:
    out = io.StringIO()
    requestlog.configure(log_format, "info", out)
    try:
        app = App.load(TOUR, strategy="per-component")
        try:
            # logger calls console's sink in another unit; console prints the line
            app.call("demo:log/app#hello", f"tour-{log_format}")
        finally:
            app.close()
    finally:
        requestlog.reset()
    if log_format == "text":
        assert "console | stdout: hello, tour-text\n" in out.getvalue()
    else:
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert {"component": "console", "message": "stdout: hello, tour-json"}.items() <= next(
            line for line in lines if line.get("component") == "console"
        ).items()


def test_without_a_log_output_goes_to_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    app = App.load(TOUR, strategy="per-component")
    try:
        app.call("demo:log/app#hello", "plain")
    finally:
        app.close()
    assert "hello, plain\n" in capfd.readouterr().out
