"""The NATS transport for imports satisfied by a unit on another host.

Each function of such an import is defined with the fast host-call path; a call encodes the
arguments with the value codec, makes a NATS request to the provider's queue group and decodes
the result. Wasm runs in a worker thread while the NATS client's asyncio loop runs in its own,
so the calling thread blocks on `run_coroutine_threadsafe(...).result(timeout)`. The call's
deadline travels with it (`wasmesh.lattice.rpc`): the callee stops when the caller gives up.
Failures (no responders, timeout, remote trap, oversized payload) are raised inside the host
function, so the caller's wasm call fails with that error: never a hang.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from nats.aio.client import Client as NATS

from wasmesh.capabilities.forwarding import HostFunc, ImportProvider
from wasmesh.engine.types import FuncSig
from wasmesh.lattice import rpc
from wasmesh.lattice.errors import LatticeError, RemoteUnavailable
from wasmesh.lattice.schema import Subjects
from wasmesh.lattice.topology import unit_label
from wasmesh.lattice.wire import SigCodec
from wasmesh.observe import tracing
from wasmesh.policy import Policy

T = TypeVar("T")


class LoopThread:
    """An asyncio loop in a dedicated daemon thread, for blocking callers."""

    def __init__(self, name: str = "wasmesh-nats") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the loop and wait for its result."""
        return run_blocking(self.loop, coro, timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def run_blocking(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout: float | None
) -> T:
    """Run `coro` on `loop` (owned by another thread) and block this thread for the result."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        coro.close()
        raise LatticeError("a remote call was made from the NATS loop's own thread.")
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise RemoteUnavailable(f"a remote call got no answer within {timeout:g} s.") from None


def remote_timeout(policy: Policy) -> float:
    """Seconds a unit under `policy` waits for one call to another unit over NATS: its own
    `timeout` when it has one (a guest waiting in a host call is past the engine's deadline
    checks, so the wait itself must end then), else `rpc.CALL_TIMEOUT_S`."""
    own = policy.limits.timeout
    return own if own is not None and own > 0 else rpc.CALL_TIMEOUT_S


class RemoteImports:
    """Makes `ImportProvider`s whose calls go to units of `app` over the lattice, each
    waiting at most `timeout` seconds for its answer."""

    def __init__(
        self,
        nc: NATS,
        loop: asyncio.AbstractEventLoop,
        subjects: Subjects,
        app: str,
        timeout: float = rpc.CALL_TIMEOUT_S,
    ) -> None:
        self.nc = nc
        self.loop = loop
        self.subjects = subjects
        self.app = app
        self.timeout = timeout

    def provider(self, unit: str, export: str | None = None) -> ImportProvider:
        """The provider for imports satisfied by `unit` of the app (its interface `export`,
        when that is named differently from the import)."""

        def provide(interface: str, func: str, sig: FuncSig) -> HostFunc:
            codec = SigCodec(sig)
            subject = self.subjects.rpc(self.app, unit, export or interface)
            target = unit_label(self.app, unit, export or interface)

            def remote(*args: Any) -> Any:
                payload = codec.encode_args(args)
                coro = rpc.call(self.nc, subject, func, codec.codec, payload, self.timeout, target,
                                tracing.headers())  # fmt: skip
                data = run_blocking(self.loop, coro, self.timeout + 1.0)
                return codec.decode_result(data)

            return tracing.call(remote, export or interface, func, "nats")

        return provide
