"""The manifest's `[[triggers.cron]]` schedules: what croniter accepts that cron must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmesh.compose.cron import step_beyond
from wasmesh.compose.manifest import parse_manifest
from wasmesh.errors import ManifestError

APP = """\
[app]
name = "timers"

[components.ticker]
source = "ticker.wasm"

[[triggers.cron]]
schedule = "{schedule}"
component = "ticker"
export = "tick"
"""


@pytest.mark.parametrize(
    ("schedule", "said"),
    [
        ("*/61 * * * *", "steps its minute field by 61, beyond the field's 60 values (0-59); "
                         "use a step of at most 60"),
        ("0 1-5/25 * * *", "steps its hour field by 25, beyond the field's 24 values (0-23); "
                           "use a step of at most 24"),
        ("*/70 * * * * *", "steps its second field by 70, beyond the field's 60 values (0-59)"),
        ("0 0 1 */13 *", "steps its month field by 13, beyond the field's 12 values (1-12)"),
    ],
)  # fmt: skip
def test_a_step_beyond_its_field_is_refused_with_the_line(schedule: str, said: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(APP.format(schedule=schedule), Path("wasmesh.toml"))
    assert str(info.value).startswith(f"wasmesh.toml:8: schedule `{schedule}` {said}")


def test_steps_within_their_field_are_accepted() -> None:
    for schedule in ("*/59 * * * *", "*/60 * * * *", "*/10 * * * * *", "0 */6 * * mon-fri",
                     "5,10-20/5 * * * *", "@hourly"):  # fmt: skip
        assert step_beyond(schedule) is None, schedule
        parse_manifest(APP.format(schedule=schedule), Path("wasmesh.toml"))


def test_a_repeated_cron_table_is_refused_naming_both_lines() -> None:
    text = APP.format(schedule="*/5 * * * *")
    text += text[text.index("[[triggers.cron]]") :]
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, Path("wasmesh.toml"))
    assert str(info.value) == (
        "wasmesh.toml:11: [[triggers.cron]] repeats the table at line 7 (same schedule, "
        "component and options), so each run would happen twice; remove one"
    )
