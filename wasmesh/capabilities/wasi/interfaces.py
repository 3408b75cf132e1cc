"""Which Python function implements each WASI 0.2 function, per interface (unversioned).

Every `wasi:<pkg>/<iface>@0.2.N` import is served by the entry for `wasi:<pkg>/<iface>`; a
function missing here traps if the component calls it. Filesystem and socket interfaces are
listed by their own modules.
"""

from __future__ import annotations

from wasmesh.capabilities.wasi import basics as b
from wasmesh.capabilities.wasi import cli, filesystem, sockets, tcp
from wasmesh.capabilities.wasi import http_outgoing as ho
from wasmesh.capabilities.wasi import http_types as ht
from wasmesh.capabilities.wasi._spec import Interface
from wasmesh.capabilities.wasi._spec import methods as _methods
from wasmesh.capabilities.wasi.http_fields import Fields
from wasmesh.capabilities.wasi.io import InputStream, IoError, OutputStream, Pollable, poll

__all__ = ["INTERFACES", "Interface"]

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
            "get-environment": cli.get_environment,
            "get-arguments": cli.get_arguments,
            "initial-cwd": cli.initial_cwd,
        },
    ),
    "wasi:cli/exit": Interface((), {"exit": cli.exit_, "exit-with-code": cli.exit_with_code}),
    "wasi:cli/stdin": Interface((), {"get-stdin": cli.get_stdin}),
    "wasi:cli/stdout": Interface((), {"get-stdout": cli.get_stdout}),
    "wasi:cli/stderr": Interface((), {"get-stderr": cli.get_stderr}),
    "wasi:cli/terminal-input": Interface((b.TerminalInput,)),
    "wasi:cli/terminal-output": Interface((b.TerminalOutput,)),
    "wasi:cli/terminal-stdin": Interface((), {"get-terminal-stdin": b.no_terminal}),
    "wasi:cli/terminal-stdout": Interface((), {"get-terminal-stdout": b.no_terminal}),
    "wasi:cli/terminal-stderr": Interface((), {"get-terminal-stderr": b.no_terminal}),
    **filesystem.INTERFACES,
    **sockets.INTERFACES,
    **tcp.INTERFACES,
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
