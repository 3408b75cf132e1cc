"""Publishes and sends requests through wasmcloud:messaging/consumer@0.2.0, over HTTP.

- `/publish?subject=S&body=B[&reply-to=R]` publishes; 202 "published", or 403 and the error;
- `/request?subject=S&body=B[&timeout=MS]` sends a request; 200 and the reply's body, or 502
  and the error.
"""

from urllib.parse import parse_qs, urlsplit

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import consumer
from wit_world.imports.wasi_http_types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)
from wit_world.imports.wasmcloud_messaging_types import BrokerMessage


def respond(out: ResponseOutparam, status: int, body: bytes) -> None:
    headers = Fields.from_list(
        [("content-type", b"text/plain"), ("content-length", str(len(body)).encode())]
    )
    response = OutgoingResponse(headers)
    response.set_status_code(status)
    outgoing = response.body()
    ResponseOutparam.set(out, Ok(response))
    stream = outgoing.write()
    stream.blocking_write_and_flush(body)
    stream.__exit__(None, None, None)
    OutgoingBody.finish(outgoing, None)


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        url = urlsplit(request.path_with_query() or "/")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        subject = query.get("subject", "")
        body = query.get("body", "").encode()
        if url.path == "/publish":
            try:
                consumer.publish(BrokerMessage(subject, body, query.get("reply-to")))
            except Err as e:
                respond(response_out, 403, str(e.value).encode())
                return
            respond(response_out, 202, b"published")
        elif url.path == "/request":
            try:
                reply = consumer.request(subject, body, int(query.get("timeout", "5000")))
            except Err as e:
                respond(response_out, 502, str(e.value).encode())
                return
            respond(response_out, 200, bytes(reply.body))
        else:
            respond(response_out, 404, b"no such route")
