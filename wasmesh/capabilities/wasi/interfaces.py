"""Which Python function implements each WASI 0.2 function, per interface (unversioned).

Every `wasi:<pkg>/<iface>@0.2.N` import is served by the entry for `wasi:<pkg>/<iface>`; a
function missing here traps if the component calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wasmesh.capabilities.wasi import basics as b
from wasmesh.capabilities.wasi import http_outgoing as ho
from wasmesh.capabilities.wasi import http_types as ht
from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.http_fields import Fields
from wasmesh.capabilities.wasi.io import InputStream, IoError, OutputStream, Pollable, poll


@dataclass(frozen=True)
class Interface:
    """The resources an interface defines and its functions by WIT name."""

    resources: tuple[type[HostObject], ...] = ()
    funcs: Mapping[str, Callable[..., Any]] = field(default_factory=dict)


def _methods(cls: type[HostObject], *names: str) -> dict[str, Callable[..., Any]]:
    return {f"[method]{cls.resource}.{n}": getattr(cls, n.replace("-", "_")) for n in names}


def _denied(*names: str) -> dict[str, Callable[..., Any]]:
    return dict.fromkeys(names, b.socket_denied)


INTERFACES: dict[str, Interface] = {
    "wasi:io/error": Interface((IoError,), _methods(IoError, "to-debug-string")),
    "wasi:io/poll": Interface((Pollable,), {**_methods(Pollable, "ready", "block"), "poll": poll}),
    "wasi:io/streams": Interface(
        (InputStream, OutputStream),
        {
            **_methods(InputStream, "read", "blocking-read", "skip", "blocking-skip", "subscribe"),
            **_methods(
                OutputStream,
                "check-write",
                "write",
                "blocking-write-and-flush",
                "flush",
                "blocking-flush",
                "subscribe",
                "write-zeroes",
                "blocking-write-zeroes-and-flush",
                "splice",
                "blocking-splice",
            ),
        },
    ),
    "wasi:clocks/monotonic-clock": Interface(
        (),
        {
            "now": b.monotonic_now,
            "resolution": b.monotonic_resolution,
            "subscribe-instant": b.subscribe_instant,
            "subscribe-duration": b.subscribe_duration,
        },
    ),
    "wasi:clocks/wall-clock": Interface((), {"now": b.wall_now, "resolution": b.wall_resolution}),
    "wasi:random/random": Interface(
        (), {"get-random-bytes": b.random_bytes, "get-random-u64": b.random_u64}
    ),
    "wasi:random/insecure": Interface(
        (),
        {"get-insecure-random-bytes": b.insecure_bytes, "get-insecure-random-u64": b.insecure_u64},
    ),
    "wasi:random/insecure-seed": Interface((), {"insecure-seed": b.insecure_seed}),
    "wasi:cli/environment": Interface(
        (),
        {
            "get-environment": b.get_environment,
            "get-arguments": b.get_arguments,
            "initial-cwd": b.initial_cwd,
        },
    ),
    "wasi:cli/exit": Interface((), {"exit": b.exit_, "exit-with-code": b.exit_with_code}),
    "wasi:cli/stdin": Interface((), {"get-stdin": b.get_stdin}),
    "wasi:cli/stdout": Interface((), {"get-stdout": b.get_stdout}),
    "wasi:cli/stderr": Interface((), {"get-stderr": b.get_stderr}),
    "wasi:cli/terminal-input": Interface((b.TerminalInput,)),
    "wasi:cli/terminal-output": Interface((b.TerminalOutput,)),
    "wasi:cli/terminal-stdin": Interface((), {"get-terminal-stdin": b.no_terminal}),
    "wasi:cli/terminal-stdout": Interface((), {"get-terminal-stdout": b.no_terminal}),
    "wasi:cli/terminal-stderr": Interface((), {"get-terminal-stderr": b.no_terminal}),
    "wasi:filesystem/types": Interface(
        (b.Descriptor, b.DirectoryEntryStream),
        {"filesystem-error-code": b.filesystem_error_code},
    ),
    "wasi:filesystem/preopens": Interface((), {"get-directories": b.get_directories}),
    "wasi:sockets/network": Interface(
        (b.Network,), {"network-error-code": b.filesystem_error_code}
    ),
    "wasi:sockets/instance-network": Interface((), {"instance-network": b.instance_network}),
    "wasi:sockets/tcp": Interface((b.TcpSocket,)),
    "wasi:sockets/udp": Interface(
        (b.UdpSocket, b.IncomingDatagramStream, b.OutgoingDatagramStream)
    ),
    "wasi:sockets/tcp-create-socket": Interface((), _denied("create-tcp-socket")),
    "wasi:sockets/udp-create-socket": Interface((), _denied("create-udp-socket")),
    "wasi:sockets/ip-name-lookup": Interface(
        (b.ResolveAddressStream,), _denied("resolve-addresses")
    ),
    "wasi:http/types": Interface(
        (
            Fields,
            ht.IncomingRequest,
            ho.OutgoingRequest,
            ho.RequestOptions,
            ht.ResponseOutparam,
            ho.IncomingResponse,
            ht.IncomingBody,
            ht.FutureTrailers,
            ht.OutgoingResponse,
            ht.OutgoingBody,
            ho.FutureIncomingResponse,
        ),
        {
            "[constructor]fields": Fields,
            "[static]fields.from-list": Fields.from_list,
            **_methods(
                Fields,
                "get",
                "has",
                "set",
                "delete",
                "get-and-delete",
                "append",
                "entries",
                "clone",
            ),
            **_methods(
                ht.IncomingRequest,
                "method",
                "path-with-query",
                "scheme",
                "authority",
                "headers",
                "consume",
            ),
            "[constructor]outgoing-request": ho.OutgoingRequest,
            **_methods(
                ho.OutgoingRequest,
                "body",
                "method",
                "set-method",
                "path-with-query",
                "set-path-with-query",
                "scheme",
                "set-scheme",
                "authority",
                "set-authority",
                "headers",
            ),
            "[constructor]request-options": ho.RequestOptions,
            **_methods(
                ho.RequestOptions,
                "connect-timeout",
                "set-connect-timeout",
                "first-byte-timeout",
                "set-first-byte-timeout",
                "between-bytes-timeout",
                "set-between-bytes-timeout",
            ),
            "[static]response-outparam.set": ht.ResponseOutparam.set,
            **_methods(ho.IncomingResponse, "status", "headers", "consume"),
            **_methods(ht.IncomingBody, "stream"),
            "[static]incoming-body.finish": ht.IncomingBody.finish,
            **_methods(ht.FutureTrailers, "subscribe", "get"),
            "[constructor]outgoing-response": ht.OutgoingResponse,
            **_methods(ht.OutgoingResponse, "status-code", "set-status-code", "headers", "body"),
            "[method]outgoing-body.write": ht.OutgoingBody.write_stream,
            "[static]outgoing-body.finish": ht.OutgoingBody.finish,
            **_methods(ho.FutureIncomingResponse, "subscribe", "get"),
            "http-error-code": ho.http_error_code,
        },
    ),
    "wasi:http/outgoing-handler": Interface((), {"handle": ho.handle}),
}
