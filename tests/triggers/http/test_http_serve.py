"""`serve()` as a process: prints its address, and SIGTERM lets in-flight requests finish."""

from __future__ import annotations

import http.client
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_sigterm_finishes_in_flight_requests_then_exits(echo_py: Path) -> None:
    code = f"from wasmesh.triggers.http import serve; serve({str(echo_py)!r}, '127.0.0.1:0')"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.match(r"Serving HTTP on http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        conn = http.client.HTTPConnection("127.0.0.1", int(found.group(1)), timeout=30)
        conn.putrequest("POST", "/echo")
        conn.putheader("content-length", "4")
        conn.endheaders()
        time.sleep(0.5)  # the component is now waiting for the body
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        conn.send(b"done")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"done")
        conn.close()
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_workers_share_the_socket_and_drain_on_sigterm(echo_py: Path) -> None:
    code = (f"from wasmesh.triggers.http import serve; "
            f"serve({str(echo_py)!r}, '127.0.0.1:0', workers=2)")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.match(r"Serving HTTP on http://127\.0\.0\.1:(\d+)/ \(2 workers\)", line)
        assert found, line
        port = int(found.group(1))
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert len(children) == 2
        for i in range(10):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/echo", body=b"n%d" % i)
            assert conn.getresponse().read() == b"n%d" % i
            conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.putrequest("POST", "/echo")
        conn.putheader("content-length", "4")
        conn.endheaders()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        conn.send(b"done")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"done")
        conn.close()
        assert proc.wait(timeout=30) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _serving(code: str) -> tuple[subprocess.Popen[str], http.client.HTTPConnection]:
    """A server process with one request in flight (its body not yet sent)."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    found = re.match(r"Serving HTTP on http://127\.0\.0\.1:(\d+)/", proc.stdout.readline())
    assert found
    conn = http.client.HTTPConnection("127.0.0.1", int(found.group(1)), timeout=30)
    conn.putrequest("POST", "/echo")
    conn.putheader("content-length", "4")
    conn.endheaders()
    time.sleep(2)  # the component is now waiting for the body (a loaded machine is slow)
    return proc, conn


def test_a_second_signal_stops_at_once_after_saying_it_is_draining(echo_py: Path) -> None:
    """The first SIGINT says what it waits for; a second one does not wait (as a second
    Ctrl-C stops uvicorn): exit 128 + SIGINT, the in-flight request cut off."""
    for workers in (1, 2):
        code = (f"from wasmesh.triggers.http import serve; "
                f"serve({str(echo_py)!r}, '127.0.0.1:0', workers={workers})")  # fmt: skip
        proc, conn = _serving(code)
        try:
            proc.send_signal(signal.SIGINT)
            assert proc.stderr is not None
            # never wait forever: a server that did not take the signal says nothing
            assert select.select([proc.stderr], [], [], 30)[0], "no word after SIGINT"
            said = proc.stderr.readline()
            if workers == 1:
                assert said == "draining 1 in-flight request(s); press Ctrl-C again to stop now\n"
            else:
                assert said == "draining in-flight requests; press Ctrl-C again to stop now\n"
            assert proc.poll() is None  # still waiting for the request's body
            time.sleep(0.5)  # a second Ctrl-C comes later than the first one's message
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 128 + signal.SIGINT
            rest = proc.stderr.read()
            assert "Exception ignored" not in rest and "Traceback" not in rest, rest
        finally:
            conn.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
