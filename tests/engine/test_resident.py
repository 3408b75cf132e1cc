"""Handing back the pages freed pool slots keep resident: never while a store is live, and an
instance made afterwards sees its memory image and zeros, as in a fresh slot."""

from __future__ import annotations

import wasmtime
from wasmtime import component as wc

from wasmesh.engine.config import SERVING_KEEP_RESIDENT, EngineSettings, build_engine
from wasmesh.engine.loader import LoadedComponent
from wasmesh.engine.pool import PoolLimits
from wasmesh.engine.resident import RELEASE
from wasmesh.runtime.exports import resolve_export
from wasmesh.runtime.instance import Instance, Runner

# Two pages of memory with "wasmesh" in its image at 1024; `poke` writes a byte anywhere.
WAT = """
(component
  (core module $m
    (memory (export "mem") 2)
    (data (i32.const 1024) "wasmesh")
    (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u)
    (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8))
  (core instance $i (instantiate $m))
  (func (export "peek") (param "at" u32) (result u32) (canon lift (core func $i "peek")))
  (func (export "poke") (param "at" u32) (param "value" u32)
    (canon lift (core func $i "poke"))))
"""
IMAGE_AT, HEAP_AT = 1024, 70_000  # a byte of the image, a byte of the zeroed second page


def kept_resident_engine() -> wasmtime.Engine:
    settings = EngineSettings(pool=PoolLimits.for_instances(4),
                              keep_resident_bytes=SERVING_KEEP_RESIDENT)  # fmt: skip
    return build_engine(settings)


def pool_resident_kib(engine: wasmtime.Engine) -> int:
    """KiB resident in `engine`'s pool mappings (`/proc/self/smaps`)."""
    pools = RELEASE.pools[id(engine)]
    total, inside = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(" ", 1)[0]
            if "-" in head and not head.endswith(":"):
                start, end = (int(x, 16) for x in head.split("-"))
                inside = any(lo <= start and end <= hi for lo, hi in pools)
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


def test_pool_pages_are_released_only_with_no_store_live_and_read_back_as_new() -> None:
    engine = kept_resident_engine()
    [memories] = RELEASE.pools[id(engine)]  # its tables' pool is too small to be watched
    assert memories[1] - memories[0] >= 4 * (4 << 30)  # four 4 GiB reservations
    component = wc.Component(engine, WAT)
    runner = Runner(LoadedComponent(component, "resident-test", engine, None))
    peek = resolve_export(runner.loaded.world, "peek")
    poke = resolve_export(runner.loaded.world, "poke")

    def read(instance: Instance) -> tuple[int, int]:
        return instance.call(peek, [IMAGE_AT]), instance.call(peek, [HEAP_AT])

    first = runner.instantiate()
    first.call(poke, [IMAGE_AT, ord("X")])
    first.call(poke, [HEAP_AT, 7])
    assert not RELEASE.release_if_quiet()  # a store is live: its pages stay as they are
    assert read(first) == (ord("X"), 7)
    first.close()

    second = runner.instantiate()  # the slot wasmtime reset in place
    assert read(second) == (ord("w"), 0)
    second.call(poke, [HEAP_AT, 9])
    second.close()
    assert pool_resident_kib(engine) >= 128  # the kept pages: both of its memory's

    assert RELEASE.release_if_quiet()
    assert pool_resident_kib(engine) == 0
    third = runner.instantiate()  # its pages read back from the image and as zeros
    assert read(third) == (ord("w"), 0)
    assert [third.call(peek, [IMAGE_AT + i]) for i in range(7)] == list(b"wasmesh")
    third.close()


def test_stores_of_an_engine_without_kept_pages_are_not_counted() -> None:
    engine = build_engine(EngineSettings(pool=PoolLimits.for_instances(2)))
    assert id(engine) not in RELEASE.pools
    before = RELEASE.live
    store = RELEASE.store(engine)
    assert RELEASE.live == before
    store.close()


def test_every_store_in_the_package_is_made_through_the_release() -> None:
    """A store made past `new_store()` would not be counted, and a release while it lives would
    wipe its memory: only the release itself calls `wasmtime.Store(...)`."""
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "wasmesh"
    direct = [
        f"{path.relative_to(package.parent)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bwasmtime\.Store\(|^\s*(from wasmtime import .*\bStore\b)", line)
        and path.name != "resident.py"
    ]
    assert direct == []


def test_only_addresses_mapped_anew_are_a_pools() -> None:
    from wasmesh.engine.resident import new_addresses

    gib = 1 << 30
    before = {(0, gib), (10 * gib, 11 * gib), (20 * gib, 21 * gib)}
    # the kernel merged the new pool (1..5 GiB) with the mapping before it, and one at 30 GiB
    after = {(0, 5 * gib), (10 * gib, 11 * gib), (20 * gib, 21 * gib), (30 * gib, 32 * gib)}
    assert new_addresses(before, after) == [(gib, 5 * gib), (30 * gib, 32 * gib)]
    # a new mapping between two old ones, merged with both
    assert new_addresses({(0, gib), (3 * gib, 4 * gib)}, {(0, 4 * gib)}) == [(gib, 3 * gib)]
    assert new_addresses(before, before) == []
    # two new mappings side by side stay two: the small one is not the pool's
    assert new_addresses(before, before | {(30 * gib, 32 * gib), (32 * gib, 32 * gib + 4096)}) \
        == [(30 * gib, 32 * gib), (32 * gib, 32 * gib + 4096)]
