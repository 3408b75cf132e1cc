"""Fetches every URL of `?url=...&url=...` concurrently, with asyncio, and returns them all.

Also, for content-length checks: `/post?url=U&declare=N&send=M` POSTs M bytes to U under
`content-length: N` and reports what the write, `finish` and the response gave;
`/respond?declare=N&send=M` answers M bytes under `content-length: N`; `/headers` lists the
incoming request's header names, one per line.

The event loop is asyncio's own `Task`/`Future` machinery over a loop whose only source of
readiness is `wasi:io/poll.poll`: while tasks wait, one `poll` call covers every pending
pollable (an outbound response, a body stream), which is what an asyncio app does with two or
more requests in flight. Response: one line per URL, in order, `<status> <body>`.
"""

import asyncio
import contextlib
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import outgoing_handler, poll
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    Method_Get,
    Method_Post,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    ResponseOutparam,
    Scheme_Http,
)


class PollLoop(asyncio.AbstractEventLoop):
    """Just enough of an event loop for tasks that wait on WASI pollables."""

    def __init__(self) -> None:
        self.ready: deque[asyncio.Handle] = deque()
        self.waiting: list[tuple[Any, asyncio.Future[None]]] = []
        self.running = False
        self.closed = False

    def call_soon(self, callback: Any, *args: Any, context: Any = None) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self.ready.append(handle)
        return handle

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(self, coro: Any, *, name: Any = None, context: Any = None) -> Any:
        return asyncio.Task(coro, loop=self, name=name, context=context)

    def get_debug(self) -> bool:
        return False

    def is_running(self) -> bool:
        return self.running

    def is_closed(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        pass

    async def ready_on(self, pollable: Any) -> None:
        """Wait until `pollable` is ready (then drop it)."""
        future = self.create_future()
        self.waiting.append((pollable, future))
        await future

    def run_until_complete(self, future: Any) -> Any:
        task = asyncio.ensure_future(future, loop=self)
        self.running = True
        asyncio.events._set_running_loop(self)
        try:
            while not task.done():
                while self.ready:
                    handle = self.ready.popleft()
                    if not handle._cancelled:
                        handle._run()
                if task.done() or not self.waiting:
                    continue
                pollables = [p for p, _ in self.waiting]
                fired = set(poll.poll(pollables))
                still = []
                for i, (pollable, fut) in enumerate(self.waiting):
                    if i in fired:
                        pollable.__exit__(None, None, None)
                        fut.set_result(None)
                    else:
                        still.append((pollable, fut))
                self.waiting = still
        finally:
            self.running = False
            asyncio.events._set_running_loop(None)
        return task.result()


async def get(loop: PollLoop, url: str) -> bytes:
    rest = url.split("://", 1)[1]
    authority, _, path = rest.partition("/")
    request = OutgoingRequest(Fields())
    request.set_method(Method_Get())
    request.set_scheme(Scheme_Http())
    request.set_authority(authority)
    request.set_path_with_query("/" + path)
    future = outgoing_handler.handle(request, None)
    while (result := future.get()) is None:
        await loop.ready_on(future.subscribe())
    inner = result.value
    if isinstance(inner, Err):
        return f"502 {type(inner.value).__name__}".encode()
    response = inner.value
    body = response.consume()
    stream = body.stream()
    data = b""
    while True:
        try:
            chunk = stream.read(16384)
        except Err:
            break
        if chunk:
            data += chunk
        else:
            await loop.ready_on(stream.subscribe())
    return f"{response.status()} ".encode() + data


async def get_all(loop: PollLoop, urls: list[str]) -> list[bytes]:
    return list(await asyncio.gather(*(get(loop, u) for u in urls)))


def post(url: str, declare: int, send: int) -> bytes:
    rest = url.split("://", 1)[1]
    authority, _, path = rest.partition("/")
    request = OutgoingRequest(Fields.from_list([("content-length", str(declare).encode())]))
    request.set_method(Method_Post())
    request.set_scheme(Scheme_Http())
    request.set_authority(authority)
    request.set_path_with_query("/" + path)
    body = request.body()
    future = outgoing_handler.handle(request, None)
    stream = body.write()
    wrote = "ok"
    try:
        stream.blocking_write_and_flush(b"x" * send)
    except Err:
        wrote = "error"
    stream.__exit__(None, None, None)
    finished = "ok"
    try:
        OutgoingBody.finish(body, None)
    except Err as e:
        finished = f"{type(e.value).__name__}({e.value.value})"
    future.subscribe().block()
    result = future.get()
    outcome = "none"
    if result is not None and isinstance(result.value, Ok):
        outcome = str(result.value.value.status())
    elif result is not None:
        outcome = type(result.value.value).__name__
    return f"write={wrote} finish={finished} response={outcome}".encode()


def respond_sized(response_out: ResponseOutparam, declare: int, send: int) -> None:
    headers = [("content-length", str(declare).encode())]
    response = OutgoingResponse(Fields.from_list(headers))
    outgoing = response.body()
    ResponseOutparam.set(response_out, Ok(response))
    stream = outgoing.write()
    # The host refuses a body off its content-length: both calls may fail.
    with contextlib.suppress(Err):
        stream.blocking_write_and_flush(b"y" * send)
    stream.__exit__(None, None, None)
    with contextlib.suppress(Err):
        OutgoingBody.finish(outgoing, None)


def reply(response_out: ResponseOutparam, payload: bytes) -> None:
    response = OutgoingResponse(Fields.from_list([("content-type", b"text/plain")]))
    outgoing = response.body()
    ResponseOutparam.set(response_out, Ok(response))
    stream = outgoing.write()
    for offset in range(0, len(payload), 4096):
        stream.blocking_write_and_flush(payload[offset : offset + 4096])
    stream.__exit__(None, None, None)
    OutgoingBody.finish(outgoing, None)


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        target, _, query = (request.path_with_query() or "").partition("?")
        params = parse_qs(query)
        sizes = [int(params.get(k, ["0"])[0]) for k in ("declare", "send")]
        if target == "/post":
            reply(response_out, post(params["url"][0], *sizes))
            return
        if target == "/respond":
            respond_sized(response_out, *sizes)
            return
        if target == "/headers":
            names = [name for name, _ in request.headers().entries()]
            reply(response_out, "\n".join(names).encode())
            return
        urls = params.get("url", [])
        loop = PollLoop()
        bodies = loop.run_until_complete(get_all(loop, urls))
        reply(response_out, b"\n".join(bodies))
