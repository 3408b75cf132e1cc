"""Outbound origins: a guest's `scheme` + `authority` parsed and checked against grants.

An authority is `host[:port]` (RFC 3986 §3.2; no user info): a registered name, an IPv4
address or a bracketed IPv6 literal such as `[::1]`. Anything else, control characters and
spaces above all, is `HTTP-request-URI-invalid` before any connection is tried.

Grant patterns are `scheme://host[:port]`: the host may hold `*` wildcards (`*.example.com`;
a lone `*` is any host, IPv6 literals included), the port may be `*`; a missing port means the
scheme's default. Matching compares the parsed parts, never the text as a whole.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from dataclasses import dataclass

DEFAULT_PORTS = {"http": 80, "https": 443}
_REG_NAME = re.compile(r"[A-Za-z0-9\-._~!$&'()+,;=%]+")
_PATTERN_HOST = re.compile(r"[A-Za-z0-9\-._~!$&'()+,;=%*]+")


@dataclass(frozen=True)
class Origin:
    """Where a request goes: `host` lower-cased, IPv6 without brackets, in compressed form."""

    scheme: str
    host: str
    port: int

    @property
    def ipv6(self) -> bool:
        return ":" in self.host

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.ipv6 else self.host
        return f"{self.scheme}://{host}:{self.port}"


def _split(authority: str, host_pattern: re.Pattern[str]) -> tuple[str, str] | None:
    """(host, port text) of `host[:port]`, host normalised; None when malformed."""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None
        literal, rest = authority[1:end], authority[end + 1 :]
        try:
            host = ipaddress.IPv6Address(literal).compressed
        except ValueError:
            return None
        if rest and not rest.startswith(":"):
            return None
        return host, rest[1:] if rest else ""
    host, sep, port = authority.partition(":")
    if not host_pattern.fullmatch(host):
        return None
    if sep and not port:
        return None
    return host.lower(), port


def _port(text: str, scheme: str) -> int | None:
    if not text:
        return DEFAULT_PORTS[scheme]
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        return None
    return int(text)


def parse_origin(scheme: str, authority: str) -> Origin | None:
    """The origin of an outgoing request, or None when `scheme`/`authority` are not valid."""
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS or not authority:
        return None
    parts = _split(authority, _REG_NAME)
    if parts is None:
        return None
    port = _port(parts[1], scheme)
    return None if port is None else Origin(scheme, parts[0], port)


@dataclass(frozen=True)
class OriginPattern:
    """One parsed grant: `host` may hold `*`; `port` None means any."""

    scheme: str
    host: str
    port: int | None

    @classmethod
    def parse(cls, text: str) -> OriginPattern:
        """Raises ValueError naming what is wrong with `text`."""
        scheme, sep, authority = text.partition("://")
        scheme = scheme.lower()
        if not sep or scheme not in DEFAULT_PORTS:
            raise ValueError(f"`{text}` is not scheme://host[:port] with scheme http or https")
        authority = authority.removesuffix("/")
        if authority.startswith("[") or authority.rpartition(":")[2] != "*":
            parts = _split(authority, _PATTERN_HOST)
            port_text = parts[1] if parts else ""
        else:
            host, _, port_text = authority.rpartition(":")
            parts = (host.lower(), port_text) if _PATTERN_HOST.fullmatch(host) else None
        if parts is None:
            raise ValueError(f"`{text}` has no valid host (a name, `*.name`, or [IPv6])")
        if port_text == "*":
            return cls(scheme, parts[0], None)
        port = _port(port_text, scheme)
        if port is None:
            raise ValueError(f"`{text}` has an invalid port")
        return cls(scheme, parts[0], port)

    def matches(self, origin: Origin) -> bool:
        if origin.scheme != self.scheme or self.port not in (None, origin.port):
            return False
        if self.host == "*":
            return True
        if origin.ipv6 or ":" in self.host:
            return origin.host == self.host
        return fnmatch.fnmatchcase(origin.host, self.host)


def check_patterns(patterns: tuple[str, ...] | list[str]) -> None:
    """Raises ValueError for the first pattern that does not parse."""
    for text in patterns:
        OriginPattern.parse(text)


def origin_allowed(origin: str | Origin, patterns: tuple[str, ...] | list[str]) -> bool:
    """True when `origin` (an `Origin`, or `scheme://host:port` text) matches a grant;
    a pattern that does not parse grants nothing."""
    if isinstance(origin, str):
        scheme, _, authority = origin.partition("://")
        parsed = parse_origin(scheme, authority)
        if parsed is None:
            return False
        origin = parsed
    for text in patterns:
        try:
            pattern = OriginPattern.parse(text)
        except ValueError:
            continue
        if pattern.matches(origin):
            return True
    return False
