"""Guest output in the server log is rate-limited per component, and says what it dropped."""

from __future__ import annotations

import io
import logging

from wasmesh.capabilities.wasi.guest_log import RateLimit, _GuestFormatter


def _logger(name: str, stream: io.StringIO, limit: RateLimit) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_GuestFormatter())
    handler.addFilter(limit)
    logger = logging.getLogger(f"wasmesh.guest.{name}")
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def test_a_flooding_guest_is_held_to_its_burst_then_counted() -> None:
    out = io.StringIO()
    limit = RateLimit(rate=0.001, burst=5)  # practically no refill within the test
    flood = _logger("flood", out, limit)
    quiet = _logger("quiet", out, limit)
    for i in range(1000):
        flood.info("stdout: line %d", i)
    quiet.info("stdout: still heard")
    lines = out.getvalue().splitlines()
    assert lines[:5] == [f"flood | stdout: line {i}" for i in range(5)]
    assert lines[5:] == ["quiet | stdout: still heard"]  # another component's own budget
    limit.rate = 1e9  # refill at once: the next line says how many were dropped
    flood.info("stdout: after")
    assert out.getvalue().splitlines()[-1] == (
        "flood | (995 lines dropped: output rate limit) stdout: after"
    )
