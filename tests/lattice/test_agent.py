"""The host agent under a supervisor: drains on SIGTERM, fails fast on bad options."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import wasmesh_process
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.topology import Topology, UnitDeployment

from .conftest import admin, run

DRAIN_S = 20.0


def test_a_host_without_a_trusted_key_refuses_to_start() -> None:
    r = wasmesh_process("host", "--nats", "nats://127.0.0.1:1", timeout=30)
    assert r.code == 2 and "pass --trust FILE" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1


def test_a_malformed_url_is_one_sentence_and_exit_2_at_once() -> None:
    r = wasmesh_process("host", "--nats", "notaurl", timeout=30)
    assert r.code == 2, r.err
    assert "NATS URL 'notaurl' is not valid; use nats://HOST:PORT" in r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_an_unreachable_server_is_given_up_after_the_connect_timeout() -> None:
    r = wasmesh_process(
        "host",
        "--nats",
        "nats://127.0.0.1:1",
        "--connect-timeout",
        "2",
        "--allow-unsigned",
        timeout=120,
    )
    assert r.code == 2, r.err
    assert "cannot reach NATS at nats://127.0.0.1:1" in r.err and "Traceback" not in r.err
    # it retried for the 2 s asked (the process's own clock: start-up under load is not ours)
    retried = re.search(r"after \d+ attempts? in (\d+\.\d) s", r.err)
    assert retried is not None, r.err
    assert 1.5 <= float(retried.group(1)) <= 3.0, r.err


def test_while_connecting_sigterm_exits_0_and_retries_are_summarised(tmp_path: Path) -> None:
    log = tmp_path / "host.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wasmesh.lattice.agent", "--nats", "nats://127.0.0.1:1",
             "--allow-unsigned"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "retrying" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # several more attempts, which stay quiet
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lines = log.read_text().strip().splitlines()
    assert len(lines) == 1 and "cannot reach NATS" in lines[0], lines


def test_sigterm_is_a_deliberate_leave_not_a_lost_connection(
    nats_server: NatsServer, host_processes: LocalHosts
) -> None:
    proc = host_processes.start("h0")
    deadline = time.monotonic() + 60
    while "host h0 on" not in host_processes.log("h0") and time.monotonic() < deadline:
        assert proc.poll() is None, host_processes.log("h0")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(60) == 0, host_processes.log("h0")
    lines = host_processes.log("h0").strip().splitlines()
    assert len(lines) == 3 and re.fullmatch(r"Admin on http://127\.0\.0\.1:\d+/ .*", lines[1])
    assert [lines[0], lines[2]] == [f"host h0 on {nats_server.url}", "host h0 draining"], lines


def test_sigterm_under_load_hands_units_over_and_fails_no_call(
    nats_server: NatsServer, host_processes: LocalHosts, shop: Callable[..., Topology]
) -> None:
    host_processes.args += ("--drain-timeout", str(DRAIN_S))
    for name in ("h0", "h1", "h2"):
        host_processes.start(name)

    async def scenario() -> tuple[float, list[str], int]:
        async with admin(nats_server) as client:
            await client.deploy("shop", shop())  # math has one replica: it must move
            status = await client.wait_ready("shop", 60)
            (victim,) = status.running("math")
            failures: list[str] = []
            calls = 0
            stop = asyncio.Event()

            async def load() -> None:
                nonlocal calls
                while not stop.is_set():
                    try:
                        assert await client.invoke("shop", "sum3", [1, 2, 3], timeout=10) == 6
                        calls += 1
                    except Exception as exc:
                        failures.append(repr(exc))

            workers = [asyncio.create_task(load()) for _ in range(4)]
            while calls < 20:
                await asyncio.sleep(0.05)
            proc = host_processes.procs[victim]
            started = time.monotonic()
            os.killpg(proc.pid, signal.SIGTERM)
            loop = asyncio.get_running_loop()
            code = await loop.run_in_executor(None, proc.wait, DRAIN_S + 30)
            drained = time.monotonic() - started
            status = await client.wait_ready("shop", 60)
            assert victim not in status.running("math")
            before = calls
            while calls < before + 20:
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*workers)
            assert code == 0, host_processes.log(victim)
            return drained, failures, calls

    drained, failures, calls = run(scenario(), 180)
    assert failures == [] and calls > 40
    assert drained < DRAIN_S + 5  # the drain bound, plus closing the connection


def test_a_drain_bounds_the_whole_shutdown_even_with_a_call_that_never_ends(
    nats_server: NatsServer, host_processes: LocalHosts, guest: Callable[[str], Path]
) -> None:
    bound = 3.0
    host_processes.args += ("--drain-timeout", str(bound))
    proc = host_processes.start("h0")

    async def scenario() -> tuple[float, int | None]:
        async with admin(nats_server) as client:
            await client.deploy("spin", Topology((UnitDeployment("spin", guest("loop-wat")),)))
            await client.wait_ready("spin", 60)
            call = asyncio.create_task(client.invoke("spin", "spin", [], timeout=60))
            await asyncio.sleep(0.5)  # the guest is spinning: only its 60 s deadline ends it
            started = time.monotonic()
            os.killpg(proc.pid, signal.SIGTERM)
            code = await asyncio.get_running_loop().run_in_executor(None, proc.wait, 90)
            drained = time.monotonic() - started
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)
            return drained, code

    drained, code = run(scenario(), 180)
    assert code == 0, host_processes.log("h0")
    assert drained < bound + 2  # the call was abandoned at the bound; the process did not wait
