"""One request through one component instance, with the failure of either mapped to a status.

A guest that traps gets 500, one that runs out of time or fuel 504, one that exhausts its
memory 503, one that never sets a response 500, each for that request only. Once the response
head is on the wire a failure can only cut the connection.
"""

from __future__ import annotations

import logging

from wasmesh.capabilities.wasi import IncomingRequest, OutgoingResponse, ResponseOutparam
from wasmesh.capabilities.wasi.io import blocking
from wasmesh.engine import guest_error
from wasmesh.errors import GuestExit, GuestOutOfFuel, GuestOutOfMemory, GuestTimeout
from wasmesh.observe import metrics as _metrics
from wasmesh.triggers.http.bodies import RequestBody, ResponseWriter
from wasmesh.triggers.http.instances import InstancePool
from wasmesh.triggers.http.parking import parking_for

PARK_FACTOR = 4
"""Requests of a pool that may wait on the network without a slot: this many per slot."""

log = logging.getLogger("wasmesh.http")


def failure_status(exc: BaseException) -> tuple[int, str]:
    """HTTP status and one-line reason for a failed guest call."""
    err = guest_error(exc, memory_limited=True)
    if isinstance(err, GuestOutOfFuel):
        return 504, "the component used up its fuel"
    if isinstance(err, GuestTimeout):
        return 504, "the component ran past its time limit"
    if isinstance(err, GuestOutOfMemory):
        return 503, "the component ran out of memory"
    if isinstance(err, GuestExit):
        return 500, f"the component exited with status {err.status}"
    return 500, "the component failed"  # a trap, or a bug in a host function


def run(
    pool: InstancePool,
    request: IncomingRequest,
    body: RequestBody,
    writer: ResponseWriter,
    timeout: float,
    queue_wait: float | None = None,
) -> None:
    """Serve `request` with an instance from `pool`, writing the response to `writer`.

    The request waits up to `queue_wait` seconds (default `timeout`) for an instance slot
    (503 after that), then the component runs for up to `timeout` seconds (504). A reused
    instance that returns without a response, without a trap and without opening the request
    body is tried again on a fresh instance (componentize-js components answer one fetch
    event per instance; the pool then serves them fresh), so the client never sees it. A
    trap is never retried: the guest may have acted before it.
    """
    wait = timeout if queue_wait is None else queue_wait
    retry = _attempt(pool, request, body, writer, timeout, wait, fresh=False)
    if retry is not None:
        _attempt(pool, retry, body, writer, timeout, wait, fresh=True)


def _attempt(
    pool: InstancePool,
    request: IncomingRequest,
    body: RequestBody,
    writer: ResponseWriter,
    timeout: float,
    wait: float,
    fresh: bool,
) -> IncomingRequest | None:
    """One try of `run`; the request to try again on a fresh instance, or None when this
    one answered (or failed in a way a retry cannot hide)."""
    try:
        lease = pool.acquire(wait=wait, fresh=fresh)
    except Exception as e:  # the component's start-up trapped or could not link
        if writer.record is not None:
            writer.record.unit = pool.name  # who failed to start
        log.warning("%s: instantiating failed: %s", pool.name, e)
        writer.simple(500, b"the component could not be started\n")
        return None
    if lease is None:
        writer.simple(503, b"the server is busy; try again\n")
        return None
    if writer.record is not None:
        writer.record.took(pool.name, lease.uses, pool.runner.app)

    def on_set(response: OutgoingResponse) -> None:
        writer.begin(response.status, response.headers().entries())
        response.deliver(writer)

    outparam = ResponseOutparam(on_set=on_set)
    lot = parking_for(pool, pool.settings.max_concurrent * PARK_FACTOR)
    blocking.hook = lot.parked_slot
    try:
        lease.handle(request, outparam, timeout)
    except Exception as e:  # a guest failure, or a host bug: either way this request only
        if _refused_body(body, writer):
            return None
        cause = lease.ctx.failure or e
        if _metrics.ACTIVE is not None:
            failure = guest_error(cause, memory_limited=True)
            _metrics.ACTIVE.guest_failed(pool.runner.app, pool.name, failure)
        status, reason = failure_status(cause)
        if status == 500:  # a trap or an exit: say which; a limit's reason says it all
            detail = (str(guest_error(cause)).splitlines() or [type(cause).__name__])[0]
            reason_logged = f"{reason} ({detail})"
        else:
            reason_logged = reason
        log.warning("%s %s: %s", pool.name, request.path_with_query(), reason_logged)
        writer.simple(status, reason.encode() + b"\n")
        return None
    finally:
        blocking.hook = None
        # returned without a response (a trap marks it broken): such an instance is never reused
        lease.unanswered = not outparam.is_set and not lease.broken
        pool.release(lease)
    if _refused_body(body, writer):
        return None
    if not outparam.is_set:
        again = _retry(lease.uses, request, writer)
        if again is not None:
            log.info("%s %s: a reused instance set no response; trying a fresh one",
                     pool.name, request.path_with_query())
            return again
    if not outparam.is_set or outparam.response is None:
        reason = "the component did not set a response"
        if outparam.error is not None:
            reason = f"the component answered with error {getattr(outparam.error, 'tag', '')}"
        writer.simple(500, reason.encode() + b"\n")
        return None
    taken = outparam.response.taken_body()
    if taken is None:
        writer.finish(None)
    elif not writer.finished:
        writer.abort("the component returned before finishing the response body")
    return None


def _retry(uses: int, request: IncomingRequest, writer: ResponseWriter) -> IncomingRequest | None:
    """`request` again for a fresh instance, when the one that left it unanswered was
    reused (a fresh one would do the same), nothing went out and the body is unread."""
    if uses < 2 or writer.started:
        return None
    return request.unread_copy()


def _refused_body(body: RequestBody, writer: ResponseWriter) -> bool:
    """After a request body the server refused (too large) or could not read to its end (the
    client hung up, sent a bad chunk, went silent), answer 413 / cut the connection rather
    than pass on the component's answer to a partial request."""
    if body.failure is None:
        return False
    writer.close_after = True
    if body.too_large and not writer.started:
        writer.simple(413, b"the request body is larger than the server accepts\n")
    elif not writer.finished:
        writer.abort(f"the request body failed: {body.failure}")
    return True
