"""The smallest useful `wasi:http/proxy` app: answers every request with a fixed greeting."""

from componentize_py_types import Ok
from wit_world import exports
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)

BODY = b"hello from python\n"


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        headers = Fields.from_list(
            [("content-type", b"text/plain"), ("content-length", str(len(BODY)).encode())]
        )
        response = OutgoingResponse(headers)
        body = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        stream = body.write()
        stream.blocking_write_and_flush(BODY)
        stream.__exit__(None, None, None)
        OutgoingBody.finish(body, None)
