"""Guest failures through the one runner, counted by kind: traps, deadlines, fuel and the
memory limit, each exactly once per failure; instances made and closed."""

from __future__ import annotations

import pytest

from tests.observe.conftest import scrape, total, value
from tests.runtime.test_instance import GUEST, call
from tests.support.wat import wat_component
from wasmesh.cli.observe import instantiable
from wasmesh.engine.loader import load_component
from wasmesh.errors import GuestOutOfMemory, GuestTimeout, GuestTrap
from wasmesh.observe.admin import AdminServer
from wasmesh.observe.metrics import Metrics
from wasmesh.policy import Limits, Policy
from wasmesh.runtime.instance import Runner


def fails(runner: Runner, export: str, error: type[Exception], match: str) -> None:
    instance = runner.instantiate()
    try:
        with pytest.raises(error, match=match):
            call(instance, export)
    finally:
        instance.close()


def test_each_kind_of_failure_is_counted_once(metrics: Metrics, admin: AdminServer) -> None:
    path = wat_component(GUEST)
    runner = Runner(load_component(path), Policy(limits=Limits(timeout=0.2)), program="probe")
    for _ in range(2):
        fails(runner, "boom", GuestTrap, "unreachable")
    fails(runner, "spin", GuestTimeout, "time limit")
    fueled = Runner(load_component(path, fuel=True), Policy(limits=Limits(fuel=100_000)),
                    program="probe")  # fmt: skip
    fails(fueled, "spin", GuestTimeout, "fuel")
    small = Runner(load_component(path), Policy(limits=Limits(memory_bytes=1000)),
                   program="probe")  # fmt: skip
    with pytest.raises(GuestOutOfMemory):
        small.instantiate()
    healthy = runner.instantiate()
    assert call(healthy, "one") == 1
    samples = scrape(admin.url)
    kinds = {k: value(samples, "wasmesh_guest_traps_total", app="", component="probe", kind=k)
             for k in ("trap", "timeout", "fuel", "memory-limit")}  # fmt: skip
    assert kinds == {"trap": 2, "timeout": 1, "fuel": 1, "memory-limit": 0}
    # the instance refused its memory never ran a call: a failed instantiation, not a trap
    assert value(samples, "wasmesh_instantiation_failures_total", app="", component="probe",
                 kind="memory-limit") == 1  # fmt: skip
    # five instances made (not the one refused its memory), the healthy one still open
    assert value(samples, "wasmesh_instances_created_total", app="", component="probe") == 5
    assert value(samples, "wasmesh_instantiate_duration_seconds_count", app="",
                 component="probe") == 5  # fmt: skip
    assert value(samples, "wasmesh_instances_live", app="", component="probe") == 1
    healthy.close()
    assert value(scrape(admin.url), "wasmesh_instances_live", app="", component="probe") == 0


def test_readiness_probes_count_nowhere(metrics: Metrics, admin: AdminServer) -> None:
    path = wat_component(GUEST)
    healthy = Runner(load_component(path), program="probe")
    small = Runner(load_component(path), Policy(limits=Limits(memory_bytes=1000)),
                   program="small")  # fmt: skip
    admin.add_ready_check(instantiable(lambda: [("probe", healthy), ("small", small)]))
    for _ in range(3):
        reasons = admin.not_ready()
        assert len(reasons) == 1 and reasons[0].startswith("small cannot be instantiated")
    samples = scrape(admin.url)
    for name in ("wasmesh_instances_created_total", "wasmesh_instantiate_duration_seconds_count",
                 "wasmesh_guest_traps_total", "wasmesh_instantiation_failures_total",
                 "wasmesh_http_requests_total"):  # fmt: skip
        assert total(samples, name) == 0, name
