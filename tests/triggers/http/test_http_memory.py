"""Scale to zero in memory: a `wasmesh serve` process making a fresh instance per request gives
back what a burst of concurrent requests made resident once the idle timeout has passed, and
serves as before afterwards."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.cli import BIN
from tests.support.processes import Served

MiB = 1 << 20
CONNECTIONS = 24  # at once, each sending REQUESTS requests
REQUESTS = 4
CONCURRENT = 8  # instances at once (--max-concurrent): a pool slot each, kept resident
BOUND = 16 * MiB  # above the figure before the burst: the C heap's arenas, Python's caches
SETTLE_S = 60.0  # how long a broken run waits for the memory to come back


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def burst(served: Served, tag: str) -> None:
    """CONNECTIONS clients at once, REQUESTS echoes each, every body checked."""

    def client(n: int) -> None:
        conn = http.client.HTTPConnection(*served.address, timeout=120)
        try:
            for i in range(REQUESTS):
                body = f"{tag} {n} {i}".encode()
                conn.request("POST", "/echo", body=body)
                resp = conn.getresponse()
                assert (resp.status, resp.read()) == (200, body)
        finally:
            conn.close()

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        list(pool.map(client, range(CONNECTIONS)))


def test_a_burst_is_given_back_after_the_idle_timeout(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    served = Served(
        [str(BIN / "wasmesh"), "serve", str(guest("http-echo-py")), "--listen", "127.0.0.1:0",
         "--workers", "1", "--max-concurrent", str(CONCURRENT), "--idle-timeout", "1s"],
        log=tmp_path / "serve.log",
    )  # fmt: skip
    try:
        pid = served.proc.pid
        for i in range(3):
            assert served.request("POST", "/echo", b"warm %d" % i)[2] == b"warm %d" % i
        before = rss(pid)
        burst(served, "burst")
        busy = rss(pid)
        assert busy > before + BOUND  # what the burst made resident, or the test proves nothing
        deadline = time.monotonic() + SETTLE_S
        while (now := rss(pid)) > before + BOUND and time.monotonic() < deadline:
            time.sleep(0.1)  # nothing to wait on outside the process: its RSS is the event
        assert now <= before + BOUND, (
            f"RSS {before / MiB:.0f} MiB before the burst, {busy / MiB:.0f} MiB after it, "
            f"still {now / MiB:.0f} MiB {SETTLE_S:.0f} s later (idle timeout 1 s)"
        )
        burst(served, "after idle")  # slots whose pages were handed back serve as new ones
    finally:
        served.stop()


def test_a_server_with_metrics_on_outlives_its_idle_releases(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    """With `--admin` (metrics on, the admin listener's threads) the idle release once took
    the process down (SIGSEGV in glibc's malloc_trim); it must keep serving across releases."""
    served = Served(
        [str(BIN / "wasmesh"), "serve", str(guest("http-echo-py")), "--listen", "127.0.0.1:0",
         "--workers", "1", "--admin", "127.0.0.1:0", "--idle-timeout", "1s"],
        log=tmp_path / "serve.log",
    )  # fmt: skip
    try:
        for i in range(3):
            assert served.request("POST", "/echo", b"round %d" % i)[2] == b"round %d" % i
            time.sleep(2.5)  # past the idle timeout: the pool's pages are released
            assert served.proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
    finally:
        served.stop()


@pytest.mark.parametrize("name", ["echo_js", "echo_py"])
def test_idle_releases_touch_nothing_but_the_pools(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A pooled engine built while serving (the keep-resident size a component is given after
    its trial) got its pool's range merged by the kernel with the probe instance's memory
    reservation next to it; released as the pool's after that memory was unmapped and a
    malloc arena took its place, the arena lost its pages: a SIGSEGV in malloc, and the
    process deadlocked with the GIL held. Every release must leave the server answering."""
    log = tmp_path / "serve.log"
    served = Served(
        [str(BIN / "wasmesh"), "serve", str(request.getfixturevalue(name)), "--listen",
         "127.0.0.1:0", "--workers", "1", "--admin", "127.0.0.1:0", "--idle-timeout", "1s",
         "--log-level", "debug"],
        log=log,
    )  # fmt: skip
    try:
        for cycle in range(3):
            for i in range(60):  # the first cycle probes and tries two sizes (48 instances)
                body = b"cycle %d request %d" % (cycle, i)
                assert served.request("POST", "/echo", body)[::2] == (200, body)
            time.sleep(2.5)  # past the idle timeout: the pools' pages are released
            conn = http.client.HTTPConnection(*served.address, timeout=15)
            try:
                conn.request("POST", "/echo", body=b"after")
                resp = conn.getresponse()
                assert (resp.status, resp.read()) == (200, b"after"), log.read_text()[-2000:]
            finally:
                conn.close()
        text = log.read_text()
        assert "freed instance slots keep" in text  # a sized engine was built while serving
        assert "madvise(" not in text  # no release reached a range that is not mapped
    finally:
        assert served.stop() == 0
