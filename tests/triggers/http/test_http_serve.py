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
