"""Entries of one unit that export one interface: an app without `[deploy]` gives each its own
unit, whatever versions of the interface they export (componentize-py and componentize-js pin
different `wasi:http` 0.2.x); interfaces a unit's shell does not carry never clash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wasmesh.compose.plan import plan_app

APP = """\
[app]
name = "two"

[components.py]
source = "{py}"

[components.js]
source = "{js}"

[[triggers.http]]
route = "/py/..."
component = "py"

[[triggers.http]]
route = "/js/..."
component = "js"
"""


def test_two_versions_of_one_handler_get_a_unit_each(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    (tmp_path / "wasmesh.toml").write_text(
        APP.format(py=guest("http-echo-py"), js=guest("http-echo-js"))
    )
    plan = plan_app(tmp_path, cache=tmp_path / "cache")
    assert sorted(p.entries for p in plan.plans) == [("js",), ("py",)]


def test_bare_exports_a_shell_does_not_carry_do_not_split_a_unit(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    text = APP.format(py=guest("msg-publisher-py"), js=guest("msg-handler-py"))
    text = text.split("[[triggers.http]]")[0]  # no routes: nothing served, one unit is right
    (tmp_path / "wasmesh.toml").write_text(text)
    plan = plan_app(tmp_path, cache=tmp_path / "cache")
    assert [sorted(p.entries) for p in plan.plans] == [["js", "py"]]
