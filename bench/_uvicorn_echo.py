"""The peer of bench/density.py: a Starlette echo app, served by one uvicorn process per app.

    python -m uvicorn bench._uvicorn_echo:app --port 8000

POST /echo answers the request body; anything else answers "hello".
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def echo(request: Request) -> Response:
    if request.method == "POST":
        return Response(await request.body(), media_type="application/octet-stream")
    return Response(b"hello", media_type="text/plain")


app = Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])
