"""A `wasi:http/proxy` app whose routes each make one host call taking two or more borrowed
handles, the shapes that trap under a dynamic host function that cannot hold two borrows.

Routes:
  /poll?port=N    three concurrent GETs to 127.0.0.1:N, waited for with one `poll` over their
                  three pollables; answers with the three statuses
  /splice         the request body spliced into the response body (`output-stream.splice`)
  /tcp?port=N     TCP `start-connect(network, address)` to 127.0.0.1:N, writes "ping", answers
                  with what the peer sends back
"""

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import instance_network, outgoing_handler, poll, streams, tcp_create_socket
from wit_world.imports.network import IpAddressFamily, IpSocketAddress_Ipv4, Ipv4SocketAddress
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    Method_Get,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    ResponseOutparam,
    Scheme_Http,
)


def respond(out: ResponseOutparam, status: int, body: bytes) -> None:
    response = OutgoingResponse(Fields.from_list([("content-type", b"text/plain")]))
    response.set_status_code(status)
    outgoing = response.body()
    ResponseOutparam.set(out, Ok(response))
    stream = outgoing.write()
    stream.blocking_write_and_flush(body)
    stream.__exit__(None, None, None)
    OutgoingBody.finish(outgoing, None)


def poll_three(port: int, out: ResponseOutparam) -> None:
    futures = []
    for i in range(3):
        request = OutgoingRequest(Fields())
        request.set_method(Method_Get())
        request.set_scheme(Scheme_Http())
        request.set_authority(f"127.0.0.1:{port}")
        request.set_path_with_query(f"/hello/{i}")
        futures.append(outgoing_handler.handle(request, None))
    pending = {i: f.subscribe() for i, f in enumerate(futures)}
    while pending:
        keys = list(pending)
        ready = poll.poll([pending[k] for k in keys])  # one call, several borrowed pollables
        for index in ready:
            del pending[keys[index]]
    statuses = []
    for f in futures:
        got = f.get()
        assert got is not None
        inner = got.value
        statuses.append(str(inner.value.status()) if isinstance(inner, Ok) else "error")
    respond(out, 200, ("poll " + " ".join(statuses)).encode())


def splice(request: IncomingRequest, out: ResponseOutparam) -> None:
    response = OutgoingResponse(Fields())
    outgoing = response.body()
    ResponseOutparam.set(out, Ok(response))
    body = request.consume()
    source, sink = body.stream(), outgoing.write()
    while True:
        try:
            sink.blocking_splice(source, 64 * 1024)  # borrows the sink and the source
        except Err as e:
            if isinstance(e.value, streams.StreamError_Closed):
                break
            raise
    source.__exit__(None, None, None)
    sink.__exit__(None, None, None)
    OutgoingBody.finish(outgoing, None)


def tcp(port: int, out: ResponseOutparam) -> None:
    socket = tcp_create_socket.create_tcp_socket(IpAddressFamily.IPV4)
    network = instance_network.instance_network()
    address = IpSocketAddress_Ipv4(Ipv4SocketAddress(port, (127, 0, 0, 1)))
    try:
        socket.start_connect(network, address)  # borrows the socket and the network
        socket.subscribe().block()
        rx, tx = socket.finish_connect()
    except Err as e:
        respond(out, 403, f"tcp {e.value.name.lower()}".encode())
        return
    tx.blocking_write_and_flush(b"ping")
    rx.subscribe().block()
    reply = rx.read(64)
    respond(out, 200, b"tcp " + reply)


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        path = request.path_with_query() or "/"
        route, _, query = path.partition("?")
        port = int(query.removeprefix("port=") or 0)
        if route == "/poll":
            poll_three(port, response_out)
        elif route == "/splice":
            splice(request, response_out)
        elif route == "/tcp":
            tcp(port, response_out)
        else:
            respond(response_out, 200, b"borrows")
