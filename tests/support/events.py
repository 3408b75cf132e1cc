"""A real HTTP client for the dashboard's tests: whole answers and server-sent event streams."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit


def fetch(url: str, method: str = "GET") -> tuple[int, str, bytes]:
    """(status, content type, body) of one request."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request(method, parts.path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("content-type") or "", resp.read()
    finally:
        conn.close()


def events(url: str, count: int) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """The content type and the first `count` (event name, JSON data) of an event stream."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("GET", parts.path)
        resp = conn.getresponse()
        out: list[tuple[str, dict[str, Any]]] = []
        name, data = "message", ""
        while len(out) < count:
            line = resp.readline().decode()
            if not line:
                raise AssertionError(f"the event stream ended after {len(out)} events")
            line = line.rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data += line[6:]
            elif line == "" and data:
                out.append((name, json.loads(data)))
                name, data = "message", ""
        return resp.getheader("content-type") or "", out
    finally:
        conn.close()
