"""wasi:http fields and the outbound grant patterns."""

from __future__ import annotations

import socket
import threading

import pytest

from wasmesh.capabilities.wasi import Fields, WasiContext, origin_allowed
from wasmesh.capabilities.wasi.http_authority import OriginPattern, parse_origin
from wasmesh.capabilities.wasi.http_outgoing import OutgoingRequest
from wasmesh.capabilities.wasi.http_outgoing import handle as outgoing_handle
from wasmesh.capabilities.wasi.http_types import OutgoingBody, OutgoingResponse
from wasmesh.engine.values import Err, Ok, Variant
from wasmesh.errors import GuestTrap


def test_fields_are_case_insensitive_and_ordered() -> None:
    made = Fields.from_list([("Content-Type", b"text/plain"), ("X-A", b"1"), ("x-a", b"2")])
    assert isinstance(made, Ok)
    fields = made.value
    assert fields.get("x-A") == [b"1", b"2"]
    assert fields.has("content-type")
    assert fields.set("X-A", [b"3"]) == Ok(None)
    assert fields.entries() == [("content-type", b"text/plain"), ("x-a", b"3")]
    assert fields.append("x-b", b"4") == Ok(None)
    assert fields.delete("content-type") == Ok(None)
    assert fields.entries() == [("x-a", b"3"), ("x-b", b"4")]


def test_fields_reject_bad_names_values_and_hop_by_hop() -> None:
    fields = Fields()
    assert fields.append("bad name", b"x") == Err(Variant("invalid-syntax"))
    assert fields.append("x-ok", b"line\nbreak") == Err(Variant("invalid-syntax"))
    assert fields.set("Transfer-Encoding", [b"chunked"]) == Err(Variant("forbidden"))
    assert Fields.from_list([("connection", b"close")]) == Err(Variant("forbidden"))


def test_fields_of_a_response_become_immutable_but_clones_do_not() -> None:
    headers = Fields([("x-a", b"1")])
    OutgoingResponse(headers)
    assert headers.append("x-b", b"2") == Err(Variant("immutable"))
    clone = headers.clone()
    assert clone.append("x-b", b"2") == Ok(None)


def test_origin_patterns() -> None:
    grants = ("http://127.0.0.1:*", "https://*.example.com", "http://api.test:8080")
    assert origin_allowed("http://127.0.0.1:9000", grants)
    assert origin_allowed("https://a.example.com:443", grants)
    assert not origin_allowed("https://a.example.com:8443", grants)  # default port only
    assert not origin_allowed("http://a.example.com:443", grants)  # scheme differs
    assert origin_allowed("http://api.test:8080", grants)
    assert not origin_allowed("http://api.test:8081", grants)
    assert not origin_allowed("http://10.0.0.1:80", ())


def test_origin_patterns_match_parsed_parts() -> None:
    assert origin_allowed("http://[::1]:8080", ("http://[::1]:8080",))
    assert origin_allowed("http://[0:0::1]:8080", ("http://[::1]:*",))  # same address
    assert not origin_allowed("http://[::2]:8080", ("http://[::1]:8080",))
    assert origin_allowed("http://[::1]:8080", ("http://*:8080",))
    assert not origin_allowed("http://[::1]:8080", ("http://*.example.com:*",))
    assert origin_allowed("HTTP://API.Test:8080", ("http://api.test:8080",))
    # A pattern is never matched as text against the whole origin.
    assert not origin_allowed("http://evil.test:80", ("http://*:80/x",))
    assert not origin_allowed("http://a.example.com.evil:80", ("http://*.example.com",))
    with pytest.raises(ValueError, match="valid host"):
        OriginPattern.parse("http://exa mple.com")
    with pytest.raises(ValueError, match="invalid port"):
        OriginPattern.parse("http://example.com:99999")


@pytest.mark.parametrize(
    "authority",
    ["127.0.0.1\x00:80", "a b:80", "host\r\nx: y", "[::1", "[zz::1]:80", "h:", "h:8x", "h:70000",
     "u@h:80", "h/p", "h:80:90", ""],
)  # fmt: skip
def test_bad_authorities_are_uri_invalid_not_a_traceback(authority: str) -> None:
    assert parse_origin("http", authority) is None
    request = OutgoingRequest(Fields())
    assert request.set_authority(authority) == Err(None)  # wasi:http: not a valid authority
    request._authority = authority  # as if a host set it: handle() checks again
    ctx = WasiContext(name="t", allow_outbound=("http://*:*",))
    with ctx.active():
        assert outgoing_handle(request, None) == Err(Variant("HTTP-request-URI-invalid"))


def test_a_request_target_with_control_characters_is_refused() -> None:
    request = OutgoingRequest(Fields())
    assert request.set_path_with_query("/a b") == Err(None)
    assert request.set_path_with_query("/a\r\nx") == Err(None)
    assert request.set_path_with_query("/a?b=c") == Ok(None)


def test_a_body_cannot_finish_while_its_stream_is_alive() -> None:
    body = OutgoingBody()
    stream = body.write_stream()
    assert isinstance(stream, Ok)
    with pytest.raises(GuestTrap, match="output-stream is still alive"):
        OutgoingBody.finish(body, None)
    stream.value.on_drop()  # the guest drops the stream
    assert OutgoingBody.finish(body, None) == Ok(None)
    assert body.write_stream() == Err(None)  # one stream per body


def test_streaming_to_an_origin_that_closes_early_fails_the_write() -> None:
    origin = socket.create_server(("127.0.0.1", 0))
    port = origin.getsockname()[1]

    def close_early() -> None:
        conn, _ = origin.accept()
        conn.recv(1000)
        conn.close()

    closer = threading.Thread(target=close_early)
    closer.start()
    request = OutgoingRequest(Fields())
    assert request.set_authority(f"127.0.0.1:{port}") == Ok(None)
    body = request.body()
    assert isinstance(body, Ok)
    ctx = WasiContext(name="t", allow_outbound=("http://127.0.0.1:*",))
    with ctx.active():
        future = outgoing_handle(request, None)
    assert isinstance(future, Ok)
    chunk = b"x" * 65536
    with pytest.raises(ConnectionError, match="cannot be sent"):
        for _ in range(10_000):  # at most 640 MiB: the origin stops reading long before
            body.value.write(chunk)
    assert future.value.done.wait(10)
    assert isinstance(future.value.result, Err)
    closer.join()
    origin.close()
