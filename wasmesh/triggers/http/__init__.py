"""The HTTP trigger: serve standard `wasi:http/proxy` components, like `wasmtime serve`.

    from wasmesh.triggers.http import serve
    serve("app.wasm", listen="127.0.0.1:8080", request_timeout=30, max_reuse=1)

`Server` is the same thing as an object (start `serve_forever()` on a thread, call
`shutdown()`), with several apps routed by path.
"""

from wasmesh.triggers.http.instances import InstancePool, PoolSettings, RouteTarget
from wasmesh.triggers.http.routing import Match, Route, Router
from wasmesh.triggers.http.server import Server, ServerLimits, serve

__all__ = [
    "InstancePool",
    "Match",
    "PoolSettings",
    "Route",
    "RouteTarget",
    "Router",
    "Server",
    "ServerLimits",
    "serve",
]
