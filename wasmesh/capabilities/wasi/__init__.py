"""WASI 0.2 implemented in Python, for components wasmtime's native WASI cannot serve.

An HTTP component's `wasi:io/streams` is shared by its request bodies, its stdio and its
outbound requests, so the whole set (io, clocks, random, cli, filesystem, sockets, http) is
implemented here on host resources, and grants are enforced in one place.

    linker = wasmtime.component.Linker(engine)
    link = link_wasi(linker, component, engine)
    ctx = WasiContext(name="app", allow_outbound=("http://127.0.0.1:*",))
    with ctx.active():
        instance = linker.instantiate(store, component)
        handler(store, link.own(request), link.own(outparam))
    link.release(ctx.created)
"""

from wasmesh.capabilities.wasi.binding import WasiLink, link_wasi, wasi_imports
from wasmesh.capabilities.wasi.context import DeadlinePassed, WasiContext, current
from wasmesh.capabilities.wasi.http_authority import origin_allowed
from wasmesh.capabilities.wasi.http_fields import Fields
from wasmesh.capabilities.wasi.http_types import (
    BodyTarget,
    IncomingRequest,
    OutgoingResponse,
    ResponseOutparam,
)
from wasmesh.capabilities.wasi.io import ByteSource, Pollable, StreamClosed

__all__ = [
    "BodyTarget",
    "ByteSource",
    "DeadlinePassed",
    "Fields",
    "IncomingRequest",
    "OutgoingResponse",
    "Pollable",
    "ResponseOutparam",
    "StreamClosed",
    "WasiContext",
    "WasiLink",
    "current",
    "link_wasi",
    "origin_allowed",
    "wasi_imports",
]
