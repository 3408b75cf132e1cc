"""Hostile clients and hostile guests against a real server on loopback (bounded in count and
time): each is refused or contained, and the server answers normally afterwards with its
memory and threads back near where they were."""

from __future__ import annotations

import http.client
import logging
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.triggers.http.servers import Upstream, request, running
from wasmesh.policy import Grants, Limits, Policy
from wasmesh.triggers.http import PoolSettings, Server, ServerLimits


@pytest.fixture(scope="module")
def hostile_py(guest: Callable[[str], Path]) -> Path:
    return guest("http-hostile-py")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def exchange(server: Server, data: bytes, *, half_close: bool = False, wait: float = 15) -> bytes:
    """What the server sends back for raw `data` until it closes (or `wait` runs out)."""
    with socket.create_connection(server.address, timeout=wait) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return reply


@pytest.fixture(scope="module")
def server(echo_py: Path) -> Iterator[Server]:
    limits = ServerLimits(request_timeout=5.0, max_body_bytes=256 * 1024,
                    header_timeout=1.0, body_timeout=1.0, client_timeout=2.0)  # fmt: skip
    pool = PoolSettings(max_concurrent=1)
    policy = Policy(Grants(outbound=("http://*:*",)), Limits(memory_bytes=96 << 20))
    with running({"/...": echo_py}, limits=limits, pool=pool, policy=policy) as srv:
        assert request(srv, "GET", "/warm")[0] == 200
        yield srv


def assert_slots_free(server: Server) -> None:
    """Every instance slot comes back (the last one just after its response went out)."""
    pool = server.pools[0]
    deadline = time.monotonic() + 3
    while pool.slots.free != pool.settings.max_concurrent and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pool.slots.free == pool.settings.max_concurrent


def assert_healthy(server: Server) -> None:
    assert request(server, "POST", "/echo", b"still here")[2] == b"still here"
    assert_slots_free(server)


# -- framing -----------------------------------------------------------------------------------


def test_content_length_with_transfer_encoding_is_refused_and_closed(server: Server) -> None:
    hidden = b"GET /status/418 HTTP/1.1\r\nHost: x\r\n\r\n"
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    smuggle = head + b"Content-Length: %d\r\n\r\n0\r\n\r\n%s" % (5 + len(hidden), hidden)
    reply = exchange(server, smuggle)
    assert reply.startswith(b"HTTP/1.1 400")
    assert b"418" not in reply  # the hidden request was never served
    assert_healthy(server)


@pytest.mark.parametrize("line", [b"GET / HTTP/9.9", b"PRI * HTTP/2.0"])
def test_unknown_protocol_versions_are_refused(server: Server, line: bytes) -> None:
    reply = exchange(
        server, line + b"\r\nHost: x\r\n\r\n" + (b"SM\r\n\r\n" if b"PRI" in line else b"")
    )
    assert reply.split(b" ", 2)[1] in (b"505", b"400")
    assert b"hello" not in reply


def test_connect_is_refused_as_no_proxy(server: Server) -> None:
    reply = exchange(server, b"CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 501 Not Implemented\r\n")  # never tunnelled to a guest
    assert b"not a proxy" in reply
    assert_healthy(server)


def test_refusals_carry_a_reason_phrase(server: Server) -> None:
    reply = exchange(server, b"GET / HTTP/9.9\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 505 HTTP Version Not Supported\r\n")
    reply = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    # a sentence, not the repr of what could not be parsed
    reply = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert reply.endswith(b"\r\n\r\nillegal header line\n"), reply
    reply = exchange(server, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"bytearray" not in reply
    assert_healthy(server)


def test_http10_without_host_reaches_a_js_guest_with_an_authority(echo_js: Path) -> None:
    """componentize-js traps on a request without an authority; an HTTP/1.0 client need not
    send Host, so the server names itself (RFC 9112 §3.3)."""
    with running({"/...": echo_js}) as srv:
        reply = exchange(srv, b"POST /echo HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi")
    assert reply.startswith(b"HTTP/1.1 200 "), reply
    assert reply.endswith(b"\r\n\r\nhi")


def test_too_many_header_fields_get_431(server: Server) -> None:
    fields = b"".join(b"X-%d: 1\r\n" % i for i in range(150))
    assert exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n").startswith(
        b"HTTP/1.1 431"
    )


# -- bodies that end early or badly ------------------------------------------------------------

TRUNCATED = {
    "declared length, early hang-up": b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
    b"\r\n0123456789",
    "chunked, cut before the last chunk": b"POST /echo HTTP/1.1\r\nHost: x\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    "chunked, bad size mid-way": b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
    b"\r\n\r\n5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("case", TRUNCATED)
def test_a_truncated_body_is_never_answered_as_complete(server: Server, case: str) -> None:
    reply = exchange(server, TRUNCATED[case], half_close=True)
    assert not reply.startswith(b"HTTP/1.1 200")
    assert reply == b"" or reply.startswith(b"HTTP/1.1 400")
    assert_healthy(server)


@pytest.mark.parametrize("case", TRUNCATED)
def test_a_body_failing_mid_stream_is_a_stream_error_in_the_guest(
    echo_py: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Buffer nothing ahead: the guest is already reading when the body breaks.
    limits = ServerLimits(body_buffer_bytes=1, client_timeout=2.0)
    with running({"/...": echo_py}, limits=limits) as srv, caplog.at_level(logging.INFO):
        reply = exchange(srv, TRUNCATED[case], half_close=True)
        assert not reply.startswith(b"HTTP/1.1 200")  # the guest's 200 never went out
        assert_healthy(srv)
    assert "StreamError_LastOperationFailed" in caplog.text  # what the guest's read returned


def test_a_chunked_body_over_the_limit_gets_413(server: Server) -> None:
    chunk = b"x" * 32768
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(12)) + b"0\r\n\r\n"
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply = exchange(server, head + body)
    assert reply.startswith(b"HTTP/1.1 413")
    assert_healthy(server)


def test_a_chunked_body_over_the_limit_while_streaming_is_not_a_200(echo_py: Path) -> None:
    limits = ServerLimits(max_body_bytes=256 * 1024, body_buffer_bytes=1)
    chunk = b"x" * 32768
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(12)) + b"0\r\n\r\n"
    with running({"/...": echo_py}, limits=limits) as srv:
        head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        reply = exchange(srv, head + body)
        # The echo had started streaming back: the response is cut, never completed.
        assert not reply.endswith(b"0\r\n\r\n")
        assert_healthy(srv)


# -- clients that are slow on purpose ----------------------------------------------------------


def test_slow_clients_do_not_hold_instance_slots(server: Server) -> None:
    slow: list[socket.socket] = []
    try:
        for i in range(6):
            sock = socket.create_connection(server.address, timeout=10)
            if i % 3 == 0:  # a body trickling in
                sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
            elif i % 3 == 1:  # headers trickling in
                sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
            else:  # a response nobody reads
                payload = b"y" * 200_000
                sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(payload), payload))  # fmt: skip
            slow.append(sock)
        time.sleep(0.3)
        started = time.monotonic()
        for _ in range(5):  # one slot only: every one of these would wait behind a pinned slot
            assert request(server, "GET", "/hello")[0] == 200
        assert time.monotonic() - started < 5
        replies = [s.recv(64) for s in slow[:2]]  # header/body deadlines answer 408
        assert all(r.startswith(b"HTTP/1.1 408") for r in replies)
    finally:
        for sock in slow:
            sock.close()
    assert_healthy(server)


def test_requests_waiting_on_the_network_lend_their_slot(echo_py: Path) -> None:
    stalled = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    port = stalled.getsockname()[1]
    limits = ServerLimits(request_timeout=4.0, body_buffer_bytes=1, client_timeout=10.0)
    pool = PoolSettings(max_concurrent=1)
    policy = Policy(Grants(outbound=("http://127.0.0.1:*",)))
    with running({"/...": echo_py}, limits=limits, pool=pool, policy=policy) as srv:
        assert request(srv, "GET", "/warm")[0] == 200
        waiting: list[int] = []
        fetches = [
            threading.Thread(target=lambda: waiting.append(
                request(srv, "GET", f"/fetch?url=http://127.0.0.1:{port}/")[0]))
            for _ in range(2)
        ]  # fmt: skip
        for t in fetches:
            t.start()
        slow = socket.create_connection(srv.address, timeout=10)  # a large body, trickling
        slow.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\nab")
        try:
            time.sleep(1.0)  # all three are inside their guests, waiting
            started = time.monotonic()
            for _ in range(5):
                assert request(srv, "GET", "/hello")[0] == 200
            assert time.monotonic() - started < 3.0  # none waited for the deadlines above
        finally:
            slow.close()
            for t in fetches:
                t.join(30)
            stalled.close()
        assert waiting == [504, 504]  # the stalled origin ran into the request deadline
        assert_slots_free(srv)


def test_idle_kept_alive_connections_are_closed(echo_py: Path) -> None:
    limits = ServerLimits(idle_timeout=0.5)
    with (
        running({"/...": echo_py}, limits=limits) as srv,
        socket.create_connection(srv.address, timeout=10) as sock,
    ):
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert sock.recv(1024) == b""
        assert time.monotonic() - started < 5


def test_running_out_of_file_descriptors_is_survived(echo_py: Path, tmp_path: Path) -> None:
    env = {**os.environ, "WASMESH_CACHE_DIR": os.environ.get("WASMESH_CACHE_DIR", str(tmp_path))}

    def low_fd_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (96, 96))

    code = f"from wasmesh.triggers.http import serve; serve({str(echo_py)!r}, '127.0.0.1:0')"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=low_fd_limit)  # fmt: skip
    idle: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "Serving HTTP on" in line, line
        host, port = line.split("http://")[1].rstrip("/\n").rsplit(":", 1)
        for _ in range(150):  # more than the server has descriptors for
            idle.append(socket.create_connection((host, int(port)), timeout=10))
        time.sleep(1.0)
        assert proc.poll() is None  # still running: no silent exit
        for sock in idle:
            sock.close()
        idle.clear()
        deadline = time.monotonic() + 15
        while True:  # the backlog drains once descriptors free up
            try:
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                conn.request("GET", "/hello")
                assert conn.getresponse().status == 200
                conn.close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        for sock in idle:
            sock.close()
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "cannot accept a connection" in err


# -- guests that misbehave ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_server(hostile_py: Path) -> Iterator[Server]:
    pool = PoolSettings(max_concurrent=2)
    policy = Policy(Grants(outbound=("http://*:*",)), Limits(memory_bytes=64 << 20))
    limits = ServerLimits(request_timeout=60.0)
    with running({"/...": hostile_py}, limits=limits, pool=pool, policy=policy) as srv:
        assert request(srv, "GET", "/warm")[0] == 200
        yield srv


def test_a_guest_flooding_stdout_does_not_grow_the_host(hostile_server: Server) -> None:
    quiet = logging.getLogger("wasmesh.guest")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # the lines themselves are not the point here
    try:
        before = rss_mib()
        for _ in range(3):
            assert request(hostile_server, "GET", "/flood?24")[::2] == (200, b"flooded")
        assert rss_mib() - before < 150
    finally:
        quiet.setLevel(level)


def test_an_early_response_body_is_bounded(hostile_server: Server) -> None:
    before = rss_mib()
    status, _, body = request(hostile_server, "GET", "/early?512")
    assert (status, body) == (507, b"refused after 16 MiB")
    assert rss_mib() - before < 150


def test_streaming_to_an_origin_that_closes_early_releases_the_slot(hostile_server: Server) -> None:
    origin = socket.create_server(("127.0.0.1", 0))

    def close_early() -> None:
        for _ in range(2):
            conn, _ = origin.accept()
            conn.recv(4096)
            conn.close()

    closer = threading.Thread(target=close_early)
    closer.start()
    port = origin.getsockname()[1]
    try:
        for _ in range(2):
            status, _, body = request(hostile_server, "GET", f"/upload?{port}")
            assert status == 502 and body.startswith(b"the origin stopped taking the body")
    finally:
        closer.join(10)
        origin.close()
    assert_slots_free(hostile_server)


def test_looping_guests_stop_at_their_deadline_and_good_requests_are_served(
    hostile_py: Path,
) -> None:
    pool = PoolSettings(max_concurrent=2)
    with running({"/...": hostile_py}, limits=ServerLimits(request_timeout=1.0), pool=pool) as srv:
        assert request(srv, "GET", "/warm")[0] == 200
        loops: list[tuple[int, float]] = []
        good: list[int] = []

        def loop() -> None:
            started = time.monotonic()
            loops.append((request(srv, "GET", "/loop")[0], time.monotonic() - started))

        def goods() -> None:
            for _ in range(8):
                good.append(request(srv, "GET", "/ok")[0])

        threads = [threading.Thread(target=loop) for _ in range(4)]
        threads += [threading.Thread(target=goods) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert [s for s, _ in loops] == [504] * 4
        # Two rounds of loops on two slots: at most two deadlines, waiting included.
        assert max(took for _, took in loops) < 1.0 * 2 + 1.5
        assert good == [200] * 32


# -- outbound ----------------------------------------------------------------------------------


def test_an_ipv6_literal_in_the_allow_list_matches(echo_py: Path) -> None:
    class V6(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    upstream = V6(("::1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = upstream.server_address[1]
    policy = Policy(Grants(outbound=(f"http://[::1]:{port}",)))
    try:
        with running({"/...": echo_py}, policy=policy) as srv:
            status, _, body = request(srv, "GET", f"/fetch?url=http://[::1]:{port}/x")
            assert (status, body) == (200, b"200 upstream saw /x")
            status, _, body = request(srv, "GET", f"/fetch?url=http://[::1]:{port + 1}/x")
            assert body == b"denied: ErrorCode_HttpRequestDenied"
    finally:
        upstream.shutdown()
        upstream.server_close()


def test_a_malformed_authority_fails_at_once(server: Server) -> None:
    started = time.monotonic()
    status, _, _ = request(server, "GET", "/fetch?url=http://[::1/x")
    assert status == 500  # the guest's set-authority call failed and it did not handle that
    assert time.monotonic() - started < 5
    assert_healthy(server)


# -- afterwards --------------------------------------------------------------------------------


def test_the_server_recovers_after_all_of_it(server: Server) -> None:
    baseline_threads = threading.active_count()
    before = rss_mib()
    for data in list(TRUNCATED.values()) * 3:
        exchange(server, data, half_close=True)
    for _ in range(3):
        exchange(server, b"GET / HTTP/9.9\r\nHost: x\r\n\r\n")
    time.sleep(0.5)
    for _ in range(10):
        assert_healthy(server)
    assert threading.active_count() <= baseline_threads + 2
    assert rss_mib() - before < 100
