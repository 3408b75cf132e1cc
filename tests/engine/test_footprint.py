"""What an instance touches of its memory (`wasmesh.engine.footprint`), measured on a real
instance, and the trial that picks how much of a freed slot to keep resident."""

from __future__ import annotations

import threading

import pytest

from tests.support.wat import wat_component
from wasmesh.engine.footprint import (
    KEEP_CLASSES,
    PAGE,
    TRIAL_INSTANCES,
    Footprint,
    Trial,
    probing,
)
from wasmesh.engine.loader import load_component, on_demand_twin
from wasmesh.runtime.exports import resolve_export
from wasmesh.runtime.instance import Runner

MIB = 1 << 20
IMAGE_AT = 2 * MIB  # where the memory's one data segment starts
FIRST_WRITTEN = 16  # the page `touch` writes first

# A 4 MiB memory with two pages of data at 2 MiB; `touch(n)` writes one byte on each of n
# pages from page 16 and returns the first byte of the data (a read of the image).
TOUCHER = f"""
(component
  (core module $m
    (memory (export "mem") 64)
    (data (i32.const {IMAGE_AT}) "\\2a")
    (data (i32.const {IMAGE_AT + PAGE}) "\\01")
    (func (export "touch") (param $n i32) (result i32)
      (local $i i32)
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (i32.store8 (i32.mul (i32.add (local.get $i) (i32.const {FIRST_WRITTEN}))
                               (i32.const {PAGE}))
                      (i32.const 7))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (i32.load8_u (i32.const {IMAGE_AT}))))
  (core instance $i (instantiate $m))
  (func (export "touch") (param "n" u32) (result u32) (canon lift (core func $i "touch"))))
"""


def test_a_probe_finds_the_memory_and_the_pages_an_instance_wrote_and_read() -> None:
    loaded = on_demand_twin(load_component(wat_component(TOUCHER)))
    runner = Runner(loaded, program="toucher")
    with probing() as probe:
        instance = runner.instantiate()
    try:
        assert len(probe.memories) == 1
        assert probe.memories[0].accessible == 64 * 65536
        assert instance.call(resolve_export(loaded.world, "touch"), [5]) == 0x2A
        found = probe.footprint()
        assert found is not None
        assert found.accessible == 4 * MIB
        assert set(range(FIRST_WRITTEN, FIRST_WRITTEN + 5)) <= set(found.written)
        assert IMAGE_AT // PAGE in found.read  # read, never written: still the image's page
        assert IMAGE_AT // PAGE not in found.written
        assert len(found.written) < 16  # the untouched pages are not counted
        assert found.image_start == IMAGE_AT
        # the zeroed prefix before the image: 2 MiB, below a 16 MiB default
        assert found.candidate(16 * MIB) == 2 * MIB
    finally:
        instance.close()


def test_a_second_instance_writes_more_and_the_probe_sees_it() -> None:
    loaded = on_demand_twin(load_component(wat_component(TOUCHER)))
    runner = Runner(loaded, program="toucher")
    with probing() as probe:
        instance = runner.instantiate()
    try:
        instance.call(resolve_export(loaded.world, "touch"), [40])
        found = probe.footprint()
        assert found is not None
        assert set(range(FIRST_WRITTEN, FIRST_WRITTEN + 40)) <= set(found.written)
    finally:
        instance.close()


def test_the_candidate_ends_before_the_image_and_below_the_default() -> None:
    def at(image_page: int | None, accessible: int = 12 * MIB) -> Footprint:
        read = (image_page,) if image_page is not None else ()
        return Footprint(accessible, written=(0, 1), read=read)

    assert at(MIB // PAGE).candidate(16 * MIB) == MIB
    assert at(3 * MIB // PAGE).candidate(16 * MIB) == 2 * MIB
    assert at(10).candidate(16 * MIB) == 0  # image right at the start: keep nothing
    assert at(None, accessible=3 * MIB).candidate(16 * MIB) == 2 * MIB  # no image read
    assert at(12 * MIB // PAGE).candidate(8 * MIB) == 4 * MIB  # always below the default
    assert at(MIB // PAGE).candidate(0) is None  # nothing smaller than keeping nothing
    assert set(KEEP_CLASSES) >= {0, MIB, 16 * MIB}


def test_a_trial_takes_turns_and_picks_the_lower_median() -> None:
    trial = Trial(["big", "small"])
    turns = [trial.next() for _ in range(4)]
    assert turns == [(0, "big"), (1, "small"), (0, "big"), (1, "small")]
    for n in range(TRIAL_INSTANCES):
        assert trial.winner() is None
        trial.record(0, 0.003 + (0.01 if n % 5 == 0 else 0))  # outliers do not move a median
        trial.record(1, 0.002)
    assert trial.winner() == 1
    assert trial.medians() == [pytest.approx(0.003), pytest.approx(0.002)]


def test_a_trial_counts_samples_from_many_threads() -> None:
    trial = Trial(["a", "b"])

    def work() -> None:
        for _ in range(TRIAL_INSTANCES):
            index, _ = trial.next()
            trial.record(index, 0.001 * (index + 1))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(s) for s in trial.samples) == 4 * TRIAL_INSTANCES
    assert trial.winner() == 0
