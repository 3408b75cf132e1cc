"""One call to a remote unit over NATS: the request, the reply, and their failures."""

from __future__ import annotations

import json
from collections.abc import Mapping

from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from wasmesh.lattice.errors import LatticeError, PayloadTooLarge, RemoteTrap, RemoteUnavailable
from wasmesh.lattice.schema import H_CODEC, H_DEADLINE, H_FUNC, H_STATUS
from wasmesh.observe import metrics as _metrics

# The one deadline of a lattice call when nobody sets one: the caller waits this long, and
# the callee, told the caller's budget in the `wasmesh-deadline` header, stops its guest then.
CALL_TIMEOUT_S = 10.0

OK = "ok"
TRAP = "trap"
ERROR = "error"


def check_payload(nc: NATS, size: int, what: str) -> None:
    """Refuse a payload the server would drop, with the limit in the message."""
    limit = nc.max_payload
    if limit and size > limit:
        raise PayloadTooLarge(
            f"the {what} is {size} bytes, over the NATS server's max_payload of {limit} bytes; "
            "pass smaller values or raise max_payload in the server configuration."
        )


async def call(
    nc: NATS,
    subject: str,
    func: str,
    codec: str,
    payload: bytes,
    timeout: float = CALL_TIMEOUT_S,
    target: str = "the remote unit",
    trace: Mapping[str, str] | None = None,
) -> bytes:
    """Request `func` on `subject` within `timeout` seconds (sent along, so the callee stops
    then too); returns the encoded result or raises a clear error naming `target` (the unit,
    e.g. "unit math of app shop (demo:math/ops)"; errors never name subjects). `trace` is the
    caller's trace context (`traceparent`), sent as headers too."""
    check_payload(nc, len(payload), f"arguments of {func}")
    headers = {H_FUNC: func, H_CODEC: codec, H_DEADLINE: f"{timeout:.3f}", **(trace or {})}
    try:
        msg = await nc.request(subject, payload, timeout=timeout, headers=headers)
    except NoRespondersError:
        _failed(subject, "no-responders")
        raise RemoteUnavailable(
            f"no host serves {target} to call {func}; deploy the unit or check `wasmesh status`."
        ) from None
    except (TimeoutError, NatsTimeout):
        _failed(subject, "timeout")
        raise RemoteUnavailable(
            f"no reply to {func} from {target} within {timeout:g} s; check the hosts that run it."
        ) from None
    status = (msg.headers or {}).get(H_STATUS, OK)
    if status == OK:
        return bytes(msg.data)
    body = json.loads(msg.data) if msg.data else {}
    message = str(body.get("message", "the remote unit failed"))
    _failed(subject, "remote-trap" if status == TRAP else "remote-error")
    if status == TRAP:
        raise RemoteTrap(f"remote {func}: {message}", str(body.get("backtrace", "")))
    raise LatticeError(f"remote {func}: {message}")


def _failed(subject: str, kind: str) -> None:
    if _metrics.ACTIVE is not None:
        _metrics.ACTIVE.rpc_failed(subject, kind)


def call_budget(headers: dict[str, str] | None) -> float:
    """Seconds the caller of a request will wait (its `wasmesh-deadline` header), measured
    from when the request arrives; `CALL_TIMEOUT_S` when it sent none."""
    text = (headers or {}).get(H_DEADLINE)
    try:
        budget = float(text) if text else CALL_TIMEOUT_S
    except ValueError:
        return CALL_TIMEOUT_S
    return budget if budget > 0 else CALL_TIMEOUT_S


def error_reply(kind: str, message: str, backtrace: str = "") -> tuple[bytes, dict[str, str]]:
    """The body and headers of a failed call's reply."""
    body = json.dumps({"message": message, "backtrace": backtrace}).encode()
    return body, {H_STATUS: kind}
