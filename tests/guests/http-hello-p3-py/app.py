"""A WASI 0.3 `wasi:http/service` app: every request gets a fixed greeting and its path.

The body is written by a task spawned after `handle` returns the response, as WASI 0.3 streams
require (the host reads the body only once it holds the response).
"""

import componentize_py_async_support
import wit_world
from componentize_py_async_support.streams import ByteStreamWriter
from componentize_py_types import Ok
from wit_world import exports
from wit_world.imports.wasi_http_types import Fields, Request, Response


async def write_body(tx: ByteStreamWriter, body: bytes) -> None:
    with tx:
        await tx.write_all(body)


class Handler(exports.Handler):
    async def handle(self, request: Request) -> Response:
        path = request.get_path_with_query() or "/"
        tx, rx = wit_world.byte_stream()
        future = wit_world.result_option_wasi_http_types_fields_wasi_http_types_error_code_future
        _, trailers = future(
            lambda: Ok(None)
        )
        headers = Fields.from_list([("content-type", b"text/plain")])
        response, _ = Response.new(headers, rx, trailers)
        componentize_py_async_support.spawn(write_body(tx, f"hello from WASI 0.3 {path}".encode()))
        return response
