"""wasi:sockets/{network,instance-network,ip-name-lookup,udp,...}: addresses, lookups, grants.

Sockets exist only when the instance's context grants network: otherwise creating one or
resolving a name answers `access-denied`. Addresses convert between WIT's
`ip-socket-address` / `ip-address` variants and Python's `(host, port)` tuples. TCP is in
`tcp.py`; UDP answers `not-supported`.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

from wasmesh.capabilities.wasi._spec import Interface, methods
from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.context import current
from wasmesh.capabilities.wasi.io import Pollable
from wasmesh.engine.values import Err, Ok, Record, Variant

FAMILIES = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


class SocketError(Exception):
    """A socket failure, carrying its wasi:sockets `error-code`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


_ERRNO_CODES = {
    errno.EACCES: "access-denied",
    errno.EPERM: "access-denied",
    errno.EADDRINUSE: "address-in-use",
    errno.EADDRNOTAVAIL: "address-not-bindable",
    errno.ECONNREFUSED: "connection-refused",
    errno.ECONNRESET: "connection-reset",
    errno.ECONNABORTED: "connection-aborted",
    errno.EHOSTUNREACH: "remote-unreachable",
    errno.ENETUNREACH: "remote-unreachable",
    errno.ETIMEDOUT: "timeout",
    errno.EINVAL: "invalid-argument",
    errno.EAFNOSUPPORT: "not-supported",
    errno.EOPNOTSUPP: "not-supported",
    errno.EMFILE: "new-socket-limit",
    errno.ENFILE: "new-socket-limit",
    errno.ENOMEM: "out-of-memory",
    errno.ENOBUFS: "out-of-memory",
    errno.EAGAIN: "would-block",
    errno.EISCONN: "invalid-state",
    errno.ENOTCONN: "invalid-state",
    errno.EALREADY: "concurrency-conflict",
}


def socket_error_code(exc: OSError) -> str:
    """The wasi:sockets `error-code` for a host `OSError`."""
    return _ERRNO_CODES.get(exc.errno or 0, "unknown")


def denied(*_args: object) -> Err:
    """The answer to a socket operation when the instance has no network grant."""
    current().logger.warning("denied a socket: the component has no network grant")
    return Err("access-denied")


def granted() -> bool:
    return current().network


# --- addresses ------------------------------------------------------------------------------


def _field(value: Any, name: str) -> Any:
    return value[name] if isinstance(value, dict) else getattr(value, name.replace("-", "_"))


def to_host(address: Variant) -> tuple[int, tuple[Any, ...]]:
    """(family, sockaddr) of a WIT `ip-socket-address`."""
    value = address.value
    port = _field(value, "port")
    parts = tuple(_field(value, "address"))
    if address.tag == "ipv4":
        return socket.AF_INET, (".".join(map(str, parts)), port)
    host = str(ipaddress.IPv6Address(b"".join(p.to_bytes(2, "big") for p in parts)))
    return socket.AF_INET6, (host, port, _field(value, "flow-info"), _field(value, "scope-id"))


def ip_address(host: str) -> Variant:
    """The WIT `ip-address` of a textual host address."""
    ip = ipaddress.ip_address(host.partition("%")[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return Variant("ipv4", tuple(ip.packed))
    raw = ip.packed
    return Variant("ipv6", tuple(int.from_bytes(raw[i : i + 2], "big") for i in range(0, 16, 2)))


def from_host(sockaddr: tuple[Any, ...]) -> Variant:
    """The WIT `ip-socket-address` of a Python socket address."""
    ip = ip_address(sockaddr[0])
    if ip.tag == "ipv4":
        return Variant("ipv4", Record(port=sockaddr[1], address=ip.value))
    return Variant(
        "ipv6",
        Record({"port": sockaddr[1], "flow-info": sockaddr[2], "address": ip.value,
                "scope-id": sockaddr[3]}),
    )  # fmt: skip


# --- network and name lookup ----------------------------------------------------------------


class Network(HostObject):
    """wasi:sockets `network`: the host's network, as far as the grants allow."""

    resource = "network"


def instance_network() -> Network:
    return Network()


def network_error_code(err: HostObject) -> str | None:
    """Stream errors carry no socket error code here (the guest sees an I/O error)."""
    return None


class ResolveAddressStream(HostObject):
    """wasi:sockets `resolve-address-stream`: the addresses found, resolved up front."""

    resource = "resolve-address-stream"

    def __init__(self, addresses: list[Variant]) -> None:
        self.addresses = addresses

    def resolve_next_address(self) -> Ok:
        return Ok(self.addresses.pop(0) if self.addresses else None)

    def subscribe(self) -> Pollable:
        return Pollable.always()


_GAI_CODES = {
    socket.EAI_NONAME: "name-unresolvable",
    socket.EAI_AGAIN: "temporary-resolver-failure",
}


def resolve_addresses(network: Network, name: str) -> Ok | Err:
    if not granted():
        return denied()
    if not name or "\0" in name:
        return Err("invalid-argument")
    try:
        infos = socket.getaddrinfo(name.strip("[]"), None, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return Err(_GAI_CODES.get(e.errno or 0, "permanent-resolver-failure"))
    except UnicodeError:
        return Err("invalid-argument")
    seen: list[Variant] = []
    for _family, _, _, _, sockaddr in infos:
        address = ip_address(str(sockaddr[0]))
        if address not in seen:
            seen.append(address)
    return Ok(ResolveAddressStream(seen))


# --- UDP: not supported ---------------------------------------------------------------------


class UdpSocket(HostObject):
    resource = "udp-socket"


class IncomingDatagramStream(HostObject):
    resource = "incoming-datagram-stream"


class OutgoingDatagramStream(HostObject):
    resource = "outgoing-datagram-stream"


def create_udp_socket(family: str) -> Err:
    return Err("not-supported") if granted() else denied()


INTERFACES = {
    "wasi:sockets/network": Interface((Network,), {"network-error-code": network_error_code}),
    "wasi:sockets/instance-network": Interface((), {"instance-network": instance_network}),
    "wasi:sockets/udp": Interface((UdpSocket, IncomingDatagramStream, OutgoingDatagramStream)),
    "wasi:sockets/udp-create-socket": Interface((), {"create-udp-socket": create_udp_socket}),
    "wasi:sockets/ip-name-lookup": Interface(
        (ResolveAddressStream,),
        {
            "resolve-addresses": resolve_addresses,
            **methods(ResolveAddressStream, "resolve-next-address", "subscribe"),
        },
    ),
}
