"""Counting and timing the calls that cross unit boundaries, per wiring edge.

`Recorder.wrap` is a `Transport` wrapper (`wasmesh.observe.assemble`): each call through a
wrapped link is counted against its edge, timed from the host receiving it to the answer
(provider's work, its entry and exit, and the transport: in process or over NATS), and, when
`payloads` is on, its payload measured as the lattice carries it: the arguments and the result
in the call encoding of `wasmesh.lattice.wire` (what one cross-host call puts on the wire).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wasmesh.capabilities.forwarding import HostFunc, ImportProvider
from wasmesh.compose.wiring import Link
from wasmesh.engine.types import FuncSig
from wasmesh.lattice.wire import SigCodec
from wasmesh.observe.assemble import Edge


@dataclass
class Tally:
    """What one edge carried: calls, payload bytes, and seconds per call as timed."""

    calls: int = 0
    payload: int = 0
    seconds: list[float] = field(default_factory=list)


class Recorder:
    """Tallies per edge of every call through the links it wrapped."""

    def __init__(self, payloads: bool = False) -> None:
        self.payloads = payloads
        self.tallies: dict[Edge, Tally] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.tallies = {edge: Tally() for edge in self.tallies}

    def wrap(self, link: Link, provider: ImportProvider) -> ImportProvider:
        edge = Edge.of(link)
        self.tallies.setdefault(edge, Tally())

        def provide(interface: str, func: str, sig: FuncSig) -> HostFunc:
            impl = provider(interface, func, sig)
            size = _sizer(sig) if self.payloads else None

            def counted(*args: Any) -> Any:
                t0 = time.perf_counter()
                result = impl(*args)
                seconds = time.perf_counter() - t0
                payload = size(args, result) if size is not None else 0
                with self._lock:
                    tally = self.tallies[edge]
                    tally.calls += 1
                    tally.payload += payload
                    tally.seconds.append(seconds)
                return result

            return counted

        return provide


def _sizer(sig: FuncSig) -> Callable[[tuple[Any, ...], Any], int]:
    codec = SigCodec(sig)
    return lambda args, result: (
        len(codec.encode_args(list(args))) + len(codec.encode_result(result))
    )
