"""wasi:http fields and the outbound grant patterns."""

from __future__ import annotations

import pytest

from wasmesh.capabilities.wasi import Fields, origin_allowed
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


def test_a_body_cannot_finish_while_its_stream_is_alive() -> None:
    body = OutgoingBody()
    stream = body.write_stream()
    assert isinstance(stream, Ok)
    with pytest.raises(GuestTrap, match="output-stream is still alive"):
        OutgoingBody.finish(body, None)
    stream.value.on_drop()  # the guest drops the stream
    assert OutgoingBody.finish(body, None) == Ok(None)
    assert body.write_stream() == Err(None)  # one stream per body
