"""`[[triggers.cron]]` under `wasmesh up`: an export called on a seconds schedule in fresh
instances, a trapping one logged, bad tables refused."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.triggers.test_messaging import WAIT_S
from wasmesh.compose.cron import valid_schedule
from wasmesh.errors import ManifestError
from wasmesh.lattice.app import topology_from_manifest
from wasmesh.lattice.errors import LatticeError
from wasmesh.runtime.app import App
from wasmesh.triggers.base import TriggerOptions, start_triggers, stop_all

APP = """
[app]
name = "clock"

[components.ticker]
source = "{ticker}"

[[triggers.cron]]
schedule = "* * * * * *"
component = "ticker"
export = "tick"

[[triggers.cron]]
schedule = "*/2 * * * * *"
component = "ticker"
export = "boom"
"""


class Counter(logging.Handler):
    """Counts records whose text holds `word`; `reached(n)` is set at `n` of them."""

    def __init__(self, word: str, n: int) -> None:
        super().__init__(logging.DEBUG)
        self.word, self.n, self.count = word, n, 0
        self.reached = threading.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if self.word in line:
            self.count += 1
            self.lines.append(line)
            if self.count >= self.n:
                self.reached.set()


@pytest.fixture
def counters() -> Iterator[tuple[Counter, Counter]]:
    ticks, traps = Counter("tick", 2), Counter("failed in boom", 1)
    guest_log, cron_log = logging.getLogger("wasmesh.guest"), logging.getLogger("wasmesh.cron")
    guest_log.addHandler(ticks)
    cron_log.addHandler(traps)
    level = guest_log.level
    guest_log.setLevel(logging.INFO)
    try:
        yield ticks, traps
    finally:
        guest_log.removeHandler(ticks)
        cron_log.removeHandler(traps)
        guest_log.setLevel(level)


def test_an_export_runs_on_schedule_and_a_trap_is_logged(
    guest: Callable[[str], Path], tmp_path: Path, counters: tuple[Counter, Counter]
) -> None:
    (tmp_path / "wasmesh.toml").write_text(APP.format(ticker=guest("tick-wat")))
    app = App.load(tmp_path)
    triggers = start_triggers(app, TriggerOptions("127.0.0.1:0"))
    ticks, traps = counters
    try:
        assert ticks.reached.wait(WAIT_S), "tick was not called twice"
        assert traps.reached.wait(WAIT_S), "boom's trap was not logged"
        assert "cron */2 * * * * *: component ticker failed in boom" in traps.lines[0]
        assert "unreachable" in traps.lines[0]
        (cron,) = triggers
        assert cron.describe()[0] == "  * * * * * *  -> ticker.tick (unit main)"
    finally:
        stop_all(triggers, 5.0)
        app.close()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'export = "tick"',
            'export = "tock"',
            "wasmesh.toml:8: [[triggers.cron]]: component ticker has no export `tock`; "
            "did you mean `tick`?",
        ),
        (
            'export = "tick"',
            'export = "add"',
            "wasmesh.toml:8: [[triggers.cron]] calls `add`, which takes arguments",
        ),
        (
            'schedule = "* * * * * *"',
            'schedule = "every minute"',
            "wasmesh.toml:9: schedule `every minute` is not a cron expression",
        ),
        (
            'schedule = "* * * * * *"',
            'schedule = "0 0 30 2 *"',
            "wasmesh.toml:9: schedule `0 0 30 2 *` never fires",
        ),
        (
            'export = "tick"\n',
            "",
            '[[triggers.cron]] needs `export = "func"` to call; add it',
        ),
    ],
)
def test_bad_cron_tables_are_refused(
    guest: Callable[[str], Path], tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = APP.format(ticker=guest("tick-wat"))
    assert old in text
    (tmp_path / "wasmesh.toml").write_text(text.replace(old, new, 1))
    with pytest.raises(ManifestError) as info:
        app = App.load(tmp_path)
        try:
            start_triggers(app, TriggerOptions("127.0.0.1:0"))
        finally:
            app.close()
    assert message in str(info.value)


def test_schedules() -> None:
    assert valid_schedule("*/10 * * * * *") and valid_schedule("0 9 * * mon-fri")
    assert not valid_schedule("* * * *") and not valid_schedule("61 * * * * *")
    for nickname in ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
                     "@hourly"):  # fmt: skip
        assert valid_schedule(nickname), nickname
    assert not valid_schedule("@reboot") and not valid_schedule("@often")


def test_a_nickname_schedule_is_accepted(guest: Callable[[str], Path], tmp_path: Path) -> None:
    text = APP.format(ticker=guest("tick-wat")).replace('"*/2 * * * * *"', '"@hourly"')
    (tmp_path / "wasmesh.toml").write_text(text)
    app = App.load(tmp_path)
    triggers = start_triggers(app, TriggerOptions("127.0.0.1:0"))
    try:
        (cron,) = triggers
        assert cron.describe()[1] == "  @hourly  -> ticker.boom (unit main)"
    finally:
        stop_all(triggers, 5.0)
        app.close()


def test_a_lattice_deploy_refuses_cron_tables(guest: Callable[[str], Path], tmp_path: Path) -> None:
    (tmp_path / "wasmesh.toml").write_text(APP.format(ticker=guest("tick-wat")))
    with pytest.raises(LatticeError, match=r"wasmesh.toml:8: a lattice does not run \[\[trigg"):
        topology_from_manifest(tmp_path)
