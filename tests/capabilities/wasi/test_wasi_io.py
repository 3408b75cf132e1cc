"""wasi:io streams and pollables, driven directly through the host implementation."""

from __future__ import annotations

import threading
import time

import pytest

from wasmesh.capabilities.wasi import DeadlinePassed, Pollable, StreamClosed, WasiContext
from wasmesh.capabilities.wasi.io import InputStream, OutputStream, poll
from wasmesh.engine.values import Err, Ok, Variant


class Chunks:
    """A source handing out fixed chunks, then its end."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    def read(self, size: int, block: bool) -> bytes | None:
        if not self.chunks:
            return None
        head = self.chunks.pop(0)
        if len(head) > size:
            self.chunks.insert(0, head[size:])
        return head[:size]

    def pollable(self) -> Pollable:
        return Pollable.always()


class Collect:
    def __init__(self, fail_after: int | None = None) -> None:
        self.data = b""
        self.fail_after = fail_after

    def write(self, data: bytes) -> None:
        if self.fail_after is not None and len(self.data) + len(data) > self.fail_after:
            raise BrokenPipeError("peer went away")
        self.data += data

    def flush(self) -> None:
        pass


def test_input_stream_reads_then_reports_closed() -> None:
    stream = InputStream(Chunks(b"hello ", b"world"))
    assert stream.read(3) == Ok(b"hel")
    assert stream.blocking_read(100) == Ok(b"lo ")
    assert stream.skip(2) == Ok(2)
    assert stream.read(100) == Ok(b"rld")
    assert stream.read(100) == Err(Variant("closed"))


def test_output_stream_writes_and_reports_failures() -> None:
    sink = Collect(fail_after=8)
    stream = OutputStream(sink)
    assert stream.blocking_write_and_flush(b"12345") == Ok(None)
    assert sink.data == b"12345"
    failed = stream.write(b"67890")
    assert isinstance(failed, Err) and failed.value.tag == "last-operation-failed"
    assert "peer went away" in failed.value.value.to_debug_string()
    assert isinstance(stream.check_write(), Err)  # the stream stays failed


def test_splice_moves_bytes_between_streams() -> None:
    sink = Collect()
    out = OutputStream(sink)
    assert out.splice(InputStream(Chunks(b"abcdef")), 4) == Ok(4)
    assert sink.data == b"abcd"


def test_poll_waits_for_the_earliest_clock() -> None:
    ctx = WasiContext()
    now = time.monotonic_ns()
    late, soon = Pollable.at(now + 2_000_000_000), Pollable.at(now + 80_000_000)
    with ctx.active():
        started = time.monotonic()
        assert poll([late, soon]) == [1]
        waited = time.monotonic() - started
    assert 0.07 < waited < 1.0


def test_poll_wakes_on_an_event() -> None:
    ctx = WasiContext()
    event = threading.Event()
    ready = Pollable(event.is_set, event=event)
    threading.Timer(0.05, event.set).start()
    with ctx.active():
        assert poll([ready, Pollable.at(time.monotonic_ns() + 5_000_000_000)]) == [0]


def test_poll_gives_up_at_the_request_deadline() -> None:
    ctx = WasiContext(deadline=time.monotonic() + 0.1)
    with ctx.active(), pytest.raises(DeadlinePassed):
        poll([Pollable.at(time.monotonic_ns() + 10_000_000_000)])


def test_a_closed_source_is_a_closed_stream() -> None:
    class Gone:
        def read(self, size: int, block: bool) -> bytes | None:
            raise StreamClosed()

        def pollable(self) -> Pollable:
            return Pollable.always()

    assert InputStream(Gone()).blocking_read(10) == Err(Variant("closed"))
