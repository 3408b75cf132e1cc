"""wasi:http/types: requests, responses, their bodies and the response outparam.

Bodies are children of their request or response: a body hands out one stream, and the
stream reads from (or writes to) whatever the host attached, so nothing is buffered whole.
An outgoing body that the guest writes before the response is sent waits in memory until
the host attaches a `BodyTarget`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol

from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.http_fields import FORBIDDEN, Fields
from wasmesh.capabilities.wasi.io import ByteSource, InputStream, OutputStream, Pollable
from wasmesh.engine.values import Err, Ok, Variant
from wasmesh.errors import GuestTrap

METHODS = ("get", "head", "post", "put", "delete", "connect", "options", "trace", "patch")


def method_variant(method: str) -> Variant:
    lower = method.lower()
    return Variant(lower) if lower in METHODS else Variant("other", method)


def method_name(method: Variant | str) -> str:
    if isinstance(method, str):
        return method.upper()
    return str(method.value) if method.tag == "other" else method.tag.upper()


def scheme_name(scheme: Variant | str | None) -> str | None:
    if scheme is None:
        return None
    if isinstance(scheme, str):
        return scheme.lower()
    return str(scheme.value) if scheme.tag == "other" else scheme.tag.lower()


class BodyTarget(Protocol):
    """Where a response (or outgoing request) body goes once the host has it."""

    def write(self, data: bytes) -> None: ...

    def finish(self, trailers: list[tuple[str, bytes]] | None) -> None: ...

    def abort(self, reason: str) -> None: ...


def _no_live_child(child: InputStream | OutputStream | None, where: str) -> None:
    """A body's stream is its child: the guest must drop it before finishing the body."""
    if child is not None and not child.dropped:
        raise GuestTrap(f"{where} called while the body's {child.resource} is still alive")


# --- incoming ---------------------------------------------------------------------------------


class FutureTrailers(HostObject):
    resource = "future-trailers"

    def __init__(self, trailers: list[tuple[str, bytes]] | None = None) -> None:
        self.trailers = trailers
        self.taken = False

    def subscribe(self) -> Pollable:
        return Pollable.always()

    def get(self) -> Ok | Err:
        if self.taken:
            return Err(None)
        self.taken = True
        fields = Fields(self.trailers, mutable=False) if self.trailers else None
        return Ok(Ok(fields))


class IncomingBody(HostObject):
    resource = "incoming-body"

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self.child: InputStream | None = None

    def stream(self) -> Ok | Err:
        if self.child is not None:
            return Err(None)
        self.child = InputStream(self.source)
        return Ok(self.child)

    @staticmethod
    def finish(this: IncomingBody) -> FutureTrailers:
        _no_live_child(this.child, "incoming-body.finish")
        # Sources that know trailers (an HTTP/1.1 chunked body) expose them once read.
        return FutureTrailers(getattr(this.source, "trailers", None))


class IncomingRequest(HostObject):
    resource = "incoming-request"

    def __init__(
        self,
        method: str,
        path_with_query: str,
        scheme: str,
        authority: str | None,
        headers: list[tuple[str, bytes]],
        body: ByteSource,
    ) -> None:
        self._method = method_variant(method)
        self._path = path_with_query
        known = scheme.upper() in ("HTTP", "HTTPS")
        self._scheme = Variant(scheme.upper()) if known else Variant("other", scheme)
        self._authority = authority
        # The guest sees the end-to-end fields only (as under `wasmtime serve`), so one that
        # forwards its incoming headers cannot send hop-by-hop ones or a second Host.
        shown = [(n, v) for n, v in headers if n.lower() not in FORBIDDEN]
        self._headers = Fields(shown, mutable=False)
        self._body: IncomingBody | None = IncomingBody(body)
        self._taken: IncomingBody | None = None  # the body, once consumed

    def method(self) -> Variant:
        return self._method

    def path_with_query(self) -> str | None:
        return self._path

    def scheme(self) -> Variant | None:
        return self._scheme

    def authority(self) -> str | None:
        return self._authority

    def headers(self) -> Fields:
        return self._headers

    def consume(self) -> Ok | Err:
        body, self._body = self._body, None
        self._taken = body
        return Err(None) if body is None else Ok(body)

    def unread_copy(self) -> IncomingRequest | None:
        """The same request for another instance, if no instance has opened its body stream
        (None once one has: some of the body may be gone)."""
        body = self._body or self._taken
        if body is None or body.child is not None:
            return None
        again = copy.copy(self)
        again._body, again._taken = IncomingBody(body.source), None
        return again


# --- outgoing ---------------------------------------------------------------------------------


def declared_length(fields: Fields) -> int | None:
    """The content-length `fields` declare, if one valid value is there."""
    values = {v.strip() for v in fields.get("content-length")}
    if len(values) != 1:
        return None
    text = values.pop()
    return int(text) if text.isdigit() else None


MAX_EARLY_BODY = 16 << 20
"""Body bytes held for a response (or outgoing request) not yet handed over; writing more
fails with `last-operation-failed` rather than growing the host's memory."""


class OutgoingBody(HostObject):
    """A body the guest writes; bytes go to the attached target, or wait for one."""

    resource = "outgoing-body"

    def __init__(self, declared: int | None = None, size_error: str = "HTTP-request-body-size"):
        self.target: BodyTarget | None = None
        self.early: list[bytes] = []
        self.written = 0
        self.child: OutputStream | None = None
        self.finished = False
        self.trailers: list[tuple[str, bytes]] | None = None
        # The message's content-length, held to exactly (RFC 9110 8.6; wasmtime-wasi-http):
        # more bytes fail the write, fewer fail `finish`, both with `size_error`.
        self.declared = declared
        self.size_error = size_error

    def attach(self, target: BodyTarget) -> None:
        self.target = target
        for chunk in self.early:
            target.write(chunk)
        self.early.clear()
        if self.finished:
            target.finish(self.trailers)

    # ByteSink for the output stream
    def write(self, data: bytes) -> None:
        if self.declared is not None and self.written + len(data) > self.declared:
            raise OSError(
                f"{self.size_error}: writing {self.written + len(data)} bytes of a body whose "
                f"content-length is {self.declared}"
            )
        if self.target is None and self.written + len(data) > MAX_EARLY_BODY:
            raise OSError(
                f"more than {MAX_EARLY_BODY} body bytes written before the message was sent"
            )
        self.written += len(data)
        if self.target is None:
            self.early.append(bytes(data))
        else:
            self.target.write(data)

    def flush(self) -> None:
        """Writes reach the target as they are made."""

    def write_stream(self) -> Ok | Err:
        if self.child is not None:
            return Err(None)
        self.child = OutputStream(self)
        return Ok(self.child)

    @staticmethod
    def finish(this: OutgoingBody, trailers: Fields | None) -> Ok | Err:
        _no_live_child(this.child, "outgoing-body.finish")
        if this.declared is not None and this.written != this.declared:
            this.on_drop()  # the message cannot be completed: abort it
            return Err(Variant(this.size_error, this.written))
        this.finished = True
        this.trailers = trailers.entries() if trailers is not None else None
        if this.target is not None:
            this.target.finish(this.trailers)
        return Ok(None)

    def on_drop(self) -> None:
        # Dropping a body without `finish` means the message is incomplete.
        if not self.finished:
            self.finished = True
            if self.target is not None:
                self.target.abort("the component dropped the body before finishing it")
            else:
                self.early = []
                self.trailers = None
                self.aborted = True

    aborted = False


class OutgoingResponse(HostObject):
    resource = "outgoing-response"

    def __init__(self, headers: Fields) -> None:
        self.status = 200
        self._headers = headers
        headers.mutable = False
        self._body: OutgoingBody | None = None
        self.target: BodyTarget | None = None

    def deliver(self, target: BodyTarget) -> None:
        """Send the body (now or once the component asks for it) to `target`."""
        self.target = target
        if self._body is not None:
            self._body.attach(target)

    def status_code(self) -> int:
        return self.status

    def set_status_code(self, status: int) -> Ok | Err:
        if not 100 <= status <= 999:
            return Err(None)
        self.status = status
        return Ok(None)

    def headers(self) -> Fields:
        return self._headers

    def body(self) -> Ok | Err:
        if self._body is not None:
            return Err(None)
        self._body = OutgoingBody(declared_length(self._headers), "HTTP-response-body-size")
        if self.target is not None:
            self._body.attach(self.target)
        return Ok(self._body)

    def taken_body(self) -> OutgoingBody | None:
        return self._body


class ResponseOutparam(HostObject):
    """Where the component puts its response; the host reads `.response` / `.error`."""

    resource = "response-outparam"

    def __init__(self, on_set: Callable[[OutgoingResponse], None] | None = None) -> None:
        self.on_set = on_set
        self.is_set = False
        self.response: OutgoingResponse | None = None
        self.error: Any = None

    @staticmethod
    def set(param: ResponseOutparam, response: Ok | Err) -> None:
        if param.is_set:
            raise RuntimeError("response-outparam.set called twice")
        param.is_set = True
        if isinstance(response, Ok):
            param.response = response.value
            if param.on_set is not None:
                param.on_set(response.value)
        else:
            param.error = response.value
