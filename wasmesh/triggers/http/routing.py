"""Which app serves a request path: exact routes, prefixes (`/api/...`) and path parameters
(`/users/:id`). The most specific route wins: exact over pattern, then more literal segments,
then longer prefixes. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from wasmesh.errors import ManifestError

T = TypeVar("T")


@dataclass(frozen=True)
class Route(Generic[T]):
    """One route pattern and what it leads to."""

    pattern: str
    target: T
    segments: tuple[str, ...] = field(init=False)
    prefix: bool = field(init=False)

    def __post_init__(self) -> None:
        if not self.pattern.startswith("/"):
            raise ManifestError(
                f"route {self.pattern!r} must start with '/'; write '/{self.pattern}'."
            )
        parts = [p for p in self.pattern.split("/") if p]
        prefix = bool(parts) and parts[-1] == "..."
        if prefix:
            parts = parts[:-1]
        if "..." in parts:
            raise ManifestError(f"route {self.pattern!r} may use '...' only as its last segment.")
        object.__setattr__(self, "segments", tuple(parts))
        object.__setattr__(self, "prefix", prefix or self.pattern == "/...")

    @property
    def rank(self) -> tuple[int, int, int]:
        literal = sum(1 for s in self.segments if not s.startswith(":"))
        return (0 if self.prefix else 1, len(self.segments), literal)


@dataclass(frozen=True)
class Match(Generic[T]):
    """A routed request: the target, path parameters and the path below a prefix route."""

    route: Route[T]
    params: dict[str, str]
    rest: str

    @property
    def target(self) -> T:
        return self.route.target


class Router(Generic[T]):
    """Routes request paths to targets; build once, `match` per request."""

    def __init__(self, routes: dict[str, T] | list[tuple[str, T]]) -> None:
        items = list(routes.items()) if isinstance(routes, dict) else list(routes)
        self.routes = [Route(p, t) for p, t in items]
        seen: set[tuple[tuple[str, ...], bool]] = set()
        for r in self.routes:
            key = (tuple(":" if s.startswith(":") else s for s in r.segments), r.prefix)
            if key in seen:
                raise ManifestError(f"route {r.pattern!r} is declared twice; keep one.")
            seen.add(key)
        # Most specific first: exact routes, then more segments, then more literal segments.
        self.routes.sort(key=lambda r: r.rank, reverse=True)

    def match(self, path: str) -> Match[T] | None:
        """The best route for `path` (query string ignored), or None."""
        path = path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        for route in self.routes:
            found = _match(route, parts)
            if found is not None:
                return found
        return None


def _match(route: Route[T], parts: list[str]) -> Match[T] | None:
    n = len(route.segments)
    if len(parts) < n or (not route.prefix and len(parts) != n):
        return None
    params: dict[str, str] = {}
    for seg, part in zip(route.segments, parts, strict=False):
        if seg.startswith(":"):
            params[seg[1:]] = part
        elif seg != part:
            return None
    rest = "/" + "/".join(parts[n:]) if route.prefix else ""
    return Match(route, params, rest)
