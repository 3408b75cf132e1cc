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
next time for it.
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
    if not fires(schedule):
        raise reader.fail(
            (*where, "schedule"),
            f"schedule `{schedule}` never fires (no date matches its day and month fields); "
            "fix the day of month or the month",
        )
    if "export" not in entry:
        raise reader.fail(where, '[[triggers.cron]] needs `export = "func"` to call; add it')
    reader.typed(entry["export"], (*where, "export"), str, "a string")
