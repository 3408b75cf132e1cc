"""`serve()` as a process: prints its address, and SIGTERM lets in-flight requests finish."""

from __future__ import annotations

import http.client
import re
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
