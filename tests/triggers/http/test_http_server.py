"""The HTTP server end to end: a componentize-py wasi:http/proxy app over loopback."""

from __future__ import annotations

import http.client
import logging
import os
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.triggers.http.servers import Upstream, request, running
from wasmesh.policy import Grants, Limits, Policy
from wasmesh.triggers.http import PoolSettings, Server, ServerLimits


def test_hello(echo_server: Server) -> None:
    status, headers, body = request(echo_server, "GET", "/hello?x=1")
    assert status == 200
    assert headers["content-type"] == "text/plain"
    assert body == b"hello GET /hello?x=1"


def test_echo_streams_a_large_body_both_ways(echo_server: Server) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    status, headers, body = request(echo_server, "POST", "/echo", payload,
                                    {"content-type": "application/x-test"})  # fmt: skip
    assert status == 200
    assert headers["content-type"] == "application/x-test"
    # Larger than what the server holds back, so the response went out chunked.
    assert headers.get("transfer-encoding") == "chunked"
    assert body == payload


def test_echo_of_a_chunked_upload(echo_server: Server) -> None:
    host, port = echo_server.address
    conn = http.client.HTTPConnection(host, port, timeout=30)
    chunks = [b"first,", b"second,", b"third"]
    conn.request("PUT", "/echo", body=iter(chunks), encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.read() == b"".join(chunks)
    conn.close()


def test_headers_round_trip(echo_server: Server) -> None:
    status, headers, _ = request(echo_server, "GET", "/headers",
                                 headers={"X-One": "1", "X-Two": "two words"})  # fmt: skip
    assert status == 200
    assert headers["x-one"] == "1"
    assert headers["x-two"] == "two words"


def test_status_codes(echo_server: Server) -> None:
    for code in (201, 404, 418, 503):
        status, _, body = request(echo_server, "GET", f"/status/{code}")
        assert status == code
        assert body == b"status"


def test_head_sends_no_body(echo_server: Server) -> None:
    status, headers, body = request(echo_server, "HEAD", "/hello")
    assert status == 200
    assert headers["content-length"] == str(len(b"hello HEAD /hello"))
    assert body == b""


def test_keep_alive_serves_several_requests_on_one_connection(echo_server: Server) -> None:
    host, port = echo_server.address
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for i in range(3):
        conn.request("POST", "/echo", body=f"round {i}".encode())
        resp = conn.getresponse()
        assert resp.read() == f"round {i}".encode()
    sock = conn.sock
    assert sock is not None
    conn.close()


def test_malformed_http_gets_400_without_reaching_a_guest(echo_server: Server) -> None:
    with socket.create_connection(echo_server.address, timeout=10) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400")


def test_oversized_body_gets_413(echo_py: Path) -> None:
    with running({"/...": echo_py}, limits=ServerLimits(max_body_bytes=1000)) as server:
        status, _, _ = request(server, "POST", "/echo", b"x" * 5000)
        assert status == 413


def test_outbound_request_allowed_and_denied(echo_py: Path) -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = upstream.server_address[1]
    try:
        granted = Policy(Grants(outbound=(f"http://127.0.0.1:{port}",)))
        with running({"/...": echo_py}, policy=granted) as server:
            status, _, body = request(server, "GET", f"/fetch?url=http://127.0.0.1:{port}/data")
            assert (status, body) == (200, b"200 upstream saw /data")
        denied = Policy(Grants(outbound=("http://example.com:*",)))
        with running({"/...": echo_py}, policy=denied) as server:
            status, _, body = request(server, "GET", f"/fetch?url=http://127.0.0.1:{port}/data")
            assert (status, body) == (502, b"denied: ErrorCode_HttpRequestDenied")
    finally:
        upstream.shutdown()
        upstream.server_close()


def test_each_fault_fails_alone_while_good_routes_keep_working(echo_server: Server) -> None:
    results: dict[str, list[int]] = {"good": [], "trap": [], "loop": [], "oom": [], "silent": []}

    def hit(kind: str, path: str, times: int) -> None:
        for _ in range(times):
            status, _, _ = request(echo_server, "GET", path)
            results[kind].append(status)

    threads = [
        threading.Thread(target=hit, args=("good", "/hello", 20)),
        threading.Thread(target=hit, args=("trap", "/trap", 3)),
        threading.Thread(target=hit, args=("loop", "/loop", 1)),
        threading.Thread(target=hit, args=("oom", "/oom", 2)),
        threading.Thread(target=hit, args=("silent", "/silent", 3)),
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results["good"] == [200] * 20
    assert results["trap"] == [500] * 3
    assert results["loop"] == [504]
    assert all(s in (500, 503) for s in results["oom"]) and len(results["oom"]) == 2
    assert results["silent"] == [500] * 3
    assert time.monotonic() - started < 30


def test_warm_reuse_serves_many_requests(echo_py: Path) -> None:
    with running({"/...": echo_py}, pool=PoolSettings(max_reuse=50)) as server:
        for i in range(10):
            status, _, body = request(server, "POST", "/echo", f"warm {i}".encode())
            assert (status, body) == (200, f"warm {i}".encode())
        time.sleep(0.2)  # the last lease returns to the pool just after its response is sent
        pool = server.pools[0]
        # Sequential requests: one or two warm instances served all ten.
        assert 1 <= len(pool.idle) <= 2
        assert sum(lease.uses for lease in pool.idle) == 10


def test_routes_pick_the_longest_match(echo_py: Path) -> None:
    with running({"/api/...": echo_py, "/exact": echo_py}) as server:
        assert request(server, "GET", "/api/hello")[0] == 200
        assert request(server, "GET", "/exact")[0] == 200
        assert request(server, "GET", "/elsewhere")[0] == 404


def test_shutdown_lets_in_flight_requests_finish(echo_py: Path) -> None:
    server = Server({"/...": echo_py}, "127.0.0.1:0")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn = http.client.HTTPConnection(server.address[0], server.address[1], timeout=30)
    # Headers now, body later: the request is in flight while shutdown starts.
    conn.putrequest("POST", "/echo")
    conn.putheader("content-length", "4")
    conn.endheaders()
    time.sleep(0.3)
    stopper = threading.Thread(target=server.shutdown)
    stopper.start()
    time.sleep(0.2)
    conn.send(b"late")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"late")
    conn.close()
    stopper.join(30)
    thread.join(10)
    with socket.socket() as probe:
        assert probe.connect_ex(server.address) != 0


def test_wasi_clocks_wait_files_and_sockets_are_denied_stdout_is_logged(
    echo_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="wasmesh.guest"):
        status, _, body = request(echo_server, "GET", "/wasi")
    assert status == 200
    fields = dict(item.split("=") for item in body.decode().split())
    assert 50 <= int(fields["waited_ms"]) < 1000
    assert fields["preopens"] == "0"
    assert fields["socket"] == "access_denied"
    assert any("stdout: wasi probe ran" in r.getMessage() for r in caplog.records)


def test_request_trailers_come_back_as_response_trailers(echo_server: Server) -> None:
    with socket.create_connection(echo_server.address, timeout=10) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n"
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head.lower()
    assert body == b"5\r\nhello\r\n0\r\nx-checksum: abc\r\n\r\n"


def test_slow_clients_are_cut_off(echo_py: Path) -> None:
    with running({"/...": echo_py}, limits=ServerLimits(client_timeout=0.5)) as server:
        sock = socket.create_connection(server.address, timeout=10)
        with sock:
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")  # and then nothing
            started = time.monotonic()
            assert _read_all(sock).startswith(b"HTTP/1.1 408")  # and the server hung up
            assert time.monotonic() - started < 5


def test_oversized_headers_get_431(echo_py: Path) -> None:
    big = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n"
    with running({"/...": echo_py}, limits=ServerLimits(max_header_bytes=2048)) as server:
        sock = socket.create_connection(server.address, timeout=10)
        with sock:
            sock.sendall(big)
            assert sock.recv(1024).startswith(b"HTTP/1.1 431")


def _read_all(sock: socket.socket) -> bytes:
    reply = b""
    while chunk := sock.recv(65536):
        reply += chunk
    return reply


def test_a_stalled_upload_gets_408_before_taking_an_instance(echo_py: Path) -> None:
    limits = ServerLimits(body_timeout=1.0, client_timeout=30.0)
    with running({"/...": echo_py}, limits=limits) as server:
        sock = socket.create_connection(server.address, timeout=10)
        with sock:
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
            started = time.monotonic()
            assert sock.recv(1024).startswith(b"HTTP/1.1 408")
            assert time.monotonic() - started < 5
        assert server.pools[0].slots.free == server.pools[0].settings.max_concurrent


def test_a_stalled_large_upload_ends_at_the_request_deadline(echo_py: Path) -> None:
    limits = ServerLimits(request_timeout=1.0, client_timeout=30.0, body_buffer_bytes=2)
    with running({"/...": echo_py}, limits=limits) as server:
        sock = socket.create_connection(server.address, timeout=10)
        with sock:
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
            started = time.monotonic()
            reply = sock.recv(1024)
            assert reply.startswith(b"HTTP/1.1 504")
            assert time.monotonic() - started < 5


def test_expect_100_continue(echo_server: Server) -> None:
    sock = socket.create_connection(echo_server.address, timeout=10)
    with sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 100")
        sock.sendall(b"ping")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"\r\n\r\nping")


def test_no_host_objects_outlive_their_instances(echo_py: Path) -> None:
    for reuse in (1, 5):
        with running({"/...": echo_py}, pool=PoolSettings(max_reuse=reuse)) as server:
            for i in range(12):
                assert request(server, "POST", "/echo", b"x" * i)[0] == 200
                assert request(server, "GET", "/trap")[0] == 500
            pool = server.pools[0]
            time.sleep(0.3)  # the last lease returns just after its response is sent
            held_by_idle = sum(len(lease.ctx.created) for lease in pool.idle)
            live = sum(len(table) for table in pool.link.resources.values())
            assert live == held_by_idle
        assert sum(len(table) for table in pool.link.resources.values()) == 0


def test_a_client_that_hangs_up_mid_response_does_not_disturb_others(echo_server: Server) -> None:
    for _ in range(3):
        sock = socket.create_connection(echo_server.address, timeout=10)
        with sock:
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n")
            sock.sendall(b"y" * 300_000)
            sock.recv(10)  # the response has started; leave now
    assert request(echo_server, "GET", "/hello")[0] == 200


def test_path_params_and_prefix_rest_reach_the_component_unforged(echo_py: Path) -> None:
    with running({"/users/:id/...": echo_py}) as server:
        forged = {"X-Keep": "1", "wasmesh-path-param-id": "forged"}
        status, got, _ = request(server, "GET", "/users/42/headers", headers=forged)
    assert status == 200
    assert got["x-keep"] == "1"
    assert got["wasmesh-path-param-id"] == "42"
    assert got["wasmesh-path-info"] == "/headers"


def test_connections_beyond_the_limit_get_503(echo_py: Path) -> None:
    with running({"/...": echo_py}, limits=ServerLimits(max_connections=1)) as server:
        first = socket.create_connection(server.address, timeout=10)
        with first:
            first.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            assert first.recv(1024).startswith(b"HTTP/1.1 200")  # keeps its connection
            second = socket.create_connection(server.address, timeout=10)
            with second:
                assert second.recv(1024).startswith(b"HTTP/1.1 503")


def test_an_instance_that_cannot_start_gets_500(echo_py: Path) -> None:
    # componentize-py needs far more than 1 MiB of linear memory just to instantiate.
    with running({"/...": echo_py}, policy=Policy(limits=Limits(memory_bytes=1 << 20))) as server:
        status, _, body = request(server, "GET", "/hello")
        assert (status, body) == (500, b"the component could not be started\n")
        pool = server.pools[0]
        assert sum(len(table) for table in pool.link.resources.values()) == 0
