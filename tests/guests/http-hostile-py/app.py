"""A `wasi:http/proxy` app that misbehaves on purpose, for the server's hostile-guest tests.

Routes (N in MiB): /flood?N writes N MiB to stdout with no newline; /early?N writes N MiB of
response body before setting the response; /upload?PORT streams up to 64 MiB to
http://127.0.0.1:PORT/ and reports how the write ended; /loop never returns; anything else
says "ok".
"""

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import outgoing_handler, stdout
from wit_world.imports.wasi_http_types import (
    Fields,
    IncomingRequest,
    Method_Post,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    ResponseOutparam,
    Scheme_Http,
)

MIB = b"x" * (1 << 20)


def respond(out: ResponseOutparam, status: int, body: bytes) -> None:
    response = OutgoingResponse(Fields.from_list([("content-type", b"text/plain")]))
    response.set_status_code(status)
    outgoing = response.body()
    ResponseOutparam.set(out, Ok(response))
    stream = outgoing.write()
    stream.blocking_write_and_flush(body)
    stream.__exit__(None, None, None)
    OutgoingBody.finish(outgoing, None)


def flood(mib: int, out: ResponseOutparam) -> None:
    stream = stdout.get_stdout()
    for _ in range(mib * 16):
        stream.blocking_write_and_flush(MIB[: 1 << 16])
    respond(out, 200, b"flooded")


def early(mib: int, out: ResponseOutparam) -> None:
    response = OutgoingResponse(Fields())
    outgoing = response.body()
    stream = outgoing.write()
    written = 0
    try:
        for _ in range(mib * 16):
            stream.blocking_write_and_flush(MIB[: 1 << 16])
            written += 1 << 16
    except Err:
        stream.__exit__(None, None, None)
        respond(out, 507, f"refused after {written >> 20} MiB".encode())
        return
    stream.__exit__(None, None, None)
    ResponseOutparam.set(out, Ok(response))
    OutgoingBody.finish(outgoing, None)


def upload(port: str, out: ResponseOutparam) -> None:
    request = OutgoingRequest(Fields())
    request.set_method(Method_Post())
    request.set_scheme(Scheme_Http())
    request.set_authority(f"127.0.0.1:{port}")
    request.set_path_with_query("/")
    body = request.body()
    outgoing_handler.handle(request, None)  # the response is not awaited: the body fails first
    stream = body.write()
    sent = 0
    try:
        for _ in range(64):
            stream.blocking_write_and_flush(MIB)
            sent += 1
    except Err:
        respond(out, 502, f"the origin stopped taking the body after {sent} MiB".encode())
        return
    respond(out, 200, b"sent everything")


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        path = request.path_with_query() or "/"
        route, _, query = path.partition("?")
        if route == "/flood":
            flood(int(query), response_out)
        elif route == "/early":
            early(int(query), response_out)
        elif route == "/upload":
            upload(query, response_out)
        elif route == "/loop":
            while True:
                pass
        else:
            respond(response_out, 200, b"ok")
