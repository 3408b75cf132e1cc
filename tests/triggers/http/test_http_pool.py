"""A server whose instance pool is full serves every request: instances beyond the pool are
allocated on demand, with a warning in its log."""

from __future__ import annotations

import http.client
import time
from pathlib import Path

from tests.support.cli import BIN
from tests.support.processes import Served


def test_a_full_pool_degrades_to_on_demand_never_a_failed_request(
    echo_py: Path, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    argv = [str(BIN / "wasmesh"), "serve", str(echo_py), "--listen", "127.0.0.1:0",
            "--workers", "1", "--pool-instances", "1", "--max-concurrent", "4"]  # fmt: skip
    served = Served(argv, log=log)
    waiting: list[http.client.HTTPConnection] = []
    try:
        # Three instances live at once, each reading a body whose end has not come: the server
        # buffers a body's first MiB before it takes an instance.
        head = b"x" * (1 << 20)
        for _ in range(3):
            conn = http.client.HTTPConnection(*served.address, timeout=60)
            conn.putrequest("POST", "/echo")
            conn.putheader("content-length", str(len(head) + 4))
            conn.endheaders()
            conn.send(head)
            waiting.append(conn)
        deadline = time.monotonic() + 60
        while "instance pool is full" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert "maximum concurrent limit of 1 for component instances" in log.read_text()
        for i, conn in enumerate(waiting):
            conn.send(b"req%d" % i)
        for i, conn in enumerate(waiting):
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, head + b"req%d" % i)
        assert served.request("POST", "/echo", b"after")[::2] == (200, b"after")
        assert log.read_text().count("instance pool is full") == 1  # warned once, not per request
    finally:
        for conn in waiting:
            conn.close()
        assert served.stop() == 0
