"""The cron trigger: `[[triggers.cron]]` tables calling a component's export on a schedule.

Each table calls its `export` (a function taking no arguments) in a fresh instance of the
unit holding the component, under that unit's policy (a run is stopped after its deadline,
else `RUN_TIMEOUT_S`), at every time its `schedule` names
(croniter's expressions, seconds first when six fields; UTC). One thread per table waits for
the next time; a run still going when the next time comes makes that time skipped (logged), so
runs of one table never overlap. A trap or an error is logged with the schedule and the
component. Cron triggers run where `wasmesh up` runs the app (a lattice does not run them).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from croniter import CroniterBadDateError, croniter

from wasmesh.errors import GuestError, ManifestError, WasmeshError
from wasmesh.runtime.exports import ExportTarget, resolve_export
from wasmesh.triggers.base import TriggerOptions

if TYPE_CHECKING:
    from wasmesh.compose.manifest import TriggerDecl
    from wasmesh.runtime.app import App
    from wasmesh.runtime.instance import Runner

log = logging.getLogger("wasmesh.cron")

RUN_TIMEOUT_S = 60.0  # a run's deadline when neither the unit's policy nor `up` sets one


@dataclass(frozen=True)
class Job:
    """One `[[triggers.cron]]` table as the trigger runs it."""

    schedule: str
    component: str
    unit: str
    export: str
    target: ExportTarget


def _job(app: App, decl: TriggerDecl) -> Job:
    unit = app.unit_of(decl.component).name
    export = str(decl.option("export"))
    world = app.units[unit].world
    try:
        target = resolve_export(world, export, f"component {decl.component}")
    except WasmeshError as exc:
        raise ManifestError(f"wasmesh.toml:{decl.line}: [[triggers.cron]]: {exc}") from None
    if target.func.sig.params:
        raise ManifestError(
            f"wasmesh.toml:{decl.line}: [[triggers.cron]] calls `{export}`, which takes "
            "arguments; a schedule can only call a function without any"
        )
    return Job(decl.address, decl.component, unit, export, target)


class CronTrigger:
    """Runs the `[[triggers.cron]]` tables of one app."""

    kind = "cron"

    def __init__(self, app: App, decls: tuple[TriggerDecl, ...], options: TriggerOptions):
        self.app = app
        self.timeout = options.request_timeout or RUN_TIMEOUT_S
        self.jobs = [_job(app, d) for d in decls]
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for job in self.jobs:
            thread = threading.Thread(target=self._loop, args=(job,), daemon=True,
                                      name=f"wasmesh-cron-{job.component}")  # fmt: skip
            thread.start()
            self.threads.append(thread)

    def _loop(self, job: Job) -> None:
        times = croniter(job.schedule, datetime.now(UTC), second_at_beginning=True)
        while True:
            try:
                at = times.get_next(float)
            except CroniterBadDateError:  # refused at load; a date range can still run out
                log.error("cron %s: %s has no next time; the schedule stops",
                          job.schedule, job.component)  # fmt: skip
                return
            if self.stopping.wait(max(0.0, at - time.time())):
                return
            self.fire(job)
            now = time.time()
            if now >= times.get_current(float) + 1.0:  # ran past later times: skip them
                skipped = croniter(job.schedule, datetime.fromtimestamp(now, UTC),
                                   second_at_beginning=True)  # fmt: skip
                log.warning("cron %s: %s ran past its next time; skipped to the one after",
                            job.schedule, job.component)  # fmt: skip
                times = skipped

    def fire(self, job: Job) -> bool:
        """Call the job's export once in a fresh instance; True when it returned."""
        runner: Runner = self.app.units[job.unit].runner
        own = runner.policy.limits.timeout
        timeout = own if own is not None and own < self.timeout else self.timeout
        try:
            instance = runner.instantiate()
            try:
                instance.call(job.target, [], timeout)
            finally:
                instance.close()
        except (GuestError, WasmeshError) as exc:
            log.warning("cron %s: component %s failed in %s: %s",
                        job.schedule, job.component, job.export, exc)  # fmt: skip
            return False
        return True

    def describe(self) -> list[str]:
        lines = [f"  {j.schedule}  -> {j.component}.{j.export} (unit {j.unit})" for j in self.jobs]
        return [*lines, "Cron schedules in UTC"]

    def drain(self, grace: float) -> None:
        """No new runs; a run in progress finishes within `grace` seconds."""
        self.stopping.set()
        deadline = time.monotonic() + grace
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        self.drain(0.0)
