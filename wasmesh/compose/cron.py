"""The manifest's `[[triggers.cron]]` tables.

```toml
[[triggers.cron]]
schedule = "*/10 * * * * *"   # seconds minutes hours day-of-month month day-of-week (UTC)
component = "reports"
export = "tick"              # the export function called, no arguments: `func` or `iface#func`
```

A five-field schedule (no seconds) is read as classic cron; `@yearly`, `@annually`, `@monthly`,
`@weekly`, `@daily`, `@midnight` and `@hourly` are accepted as in Vixie cron. Expressions are
croniter's (Vixie-cron syntax plus a leading seconds field), checked when the manifest is read: a
schedule no date matches (`"0 0 30 2 *"`, 30 February) is refused there, as croniter finds no
next time for it. So is a step beyond its field's range (`*/61` minutes, `*/25` hours), which
croniter accepts and runs as the field's first value only; cronie refuses it too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from croniter import CroniterBadDateError, croniter

from wasmesh.compose._positions import Path_
from wasmesh.compose._reader import Reader

NICKNAMES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)  # Vixie cron's nicknames that croniter expands (`@reboot` has no time, so it is not one)


FIELDS = (("second", 0, 59), ("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31),
          ("month", 1, 12), ("day-of-week", 0, 6))  # fmt: skip


def step_beyond(schedule: str) -> tuple[str, int, int, int] | None:
    """(field, step, lowest, highest) of the first `/step` in the valid `schedule` larger than
    its field has values (`*/61` minutes); None when every step fits."""
    fields = schedule.split()
    named = FIELDS if len(fields) == 6 else FIELDS[1:] if len(fields) == 5 else ()
    for text, (field, low, high) in zip(fields, named, strict=False):
        for part in text.split(","):
            _, slash, step = part.partition("/")
            if slash and step.isdigit() and int(step) > high - low + 1:
                return field, int(step), low, high
    return None


def valid_schedule(schedule: str) -> bool:
    """Whether `schedule` is a cron expression of five fields, or six with seconds first, or
    one of the `NICKNAMES` (`@hourly` is `0 * * * *`)."""
    if schedule.strip() in NICKNAMES:
        return True
    fields = schedule.split()
    return len(fields) in (5, 6) and bool(croniter.is_valid(schedule, second_at_beginning=True))


def fires(schedule: str) -> bool:
    """Whether the valid `schedule` names a time after now (croniter finds a next date)."""
    try:
        croniter(schedule, datetime.now(UTC), second_at_beginning=True).get_next(float)
    except CroniterBadDateError:
        return False
    return True


def check_trigger(reader: Reader, where: Path_, entry: dict[str, Any]) -> None:
    """A `[[triggers.cron]]` table's `schedule` and `export`."""
    schedule = entry["schedule"]
    if not valid_schedule(schedule):
        raise reader.fail(
            (*where, "schedule"),
            f"schedule `{schedule}` is not a cron expression; write five fields (minute hour "
            'day month weekday), six with seconds first, like "*/10 * * * * *", or a nickname '
            "like @hourly",
        )
    beyond = step_beyond(schedule)
    if beyond is not None:
        field, step, low, high = beyond
        raise reader.fail(
            (*where, "schedule"),
            f"schedule `{schedule}` steps its {field} field by {step}, beyond the field's "
            f"{high - low + 1} values ({low}-{high}); use a step of at most {high - low + 1}",
        )
    if not fires(schedule):
        raise reader.fail(
            (*where, "schedule"),
            f"schedule `{schedule}` never fires (no date matches its day and month fields); "
            "fix the day of month or the month",
        )
    if "export" not in entry:
        raise reader.fail(where, '[[triggers.cron]] needs `export = "func"` to call; add it')
    reader.typed(entry["export"], (*where, "export"), str, "a string")
