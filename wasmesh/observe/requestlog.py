"""The request log, and the process's log in one format: one line per HTTP request.

`configure(format, level)` (the CLI's `--log-format` and `--log-level`) sends every `wasmesh.*`
record to stderr: human lines (`text`, the default), or one JSON object per line (`json`: keys
`time` (RFC 3339, UTC), `level`, `logger`, `message`, and the record's fields). Guests' stdout,
stderr and `wasi:logging` records (loggers `wasmesh.guest.<component>`) go to the same stream,
tagged with their component: `HH:MM:SS component | line` as text, a `component` key (and
`time`) as JSON.

Each request an HTTP server answers is a record of the logger `wasmesh.request` at INFO, with
the fields `method`, `path`, `status` (0: the connection was cut before a response head),
`bytes` (response body bytes sent), `duration_ms`, `route` (the matched pattern; empty: none),
`unit` (who served it) and `instance` (`fresh`, `reused`, `forwarded` to another lattice host;
empty when no instance ran).
`--log-level warning` leaves request lines out.

The HTTP server asks `observer()` once, when it is made: None when neither the request log
nor metrics are on, and then a request costs nothing more.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from wasmesh.errors import WasmeshError
from wasmesh.observe import metrics as _metrics

REQUEST_LOGGER = "wasmesh.request"
GUEST_PREFIX = "wasmesh.guest."
FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")

_enabled = False


@dataclass(slots=True)
class RequestRecord:
    """One request as the server saw it; the server and the instance pool fill it in."""

    method: str
    path: str
    started: float
    route: str = ""
    unit: str = ""
    instance: str = ""  # fresh | reused | forwarded
    writer: Any = None  # the response writer: `status` and `sent` at the end
    status: int = 0  # a request refused before it had a writer: the status it is answered
    metrics: _metrics.Metrics | None = None

    def took(self, unit: str, uses: int, app: str = "") -> None:
        """An instance of `unit` (of `app`) serves the request; it served `uses` requests
        before."""
        self.unit = unit
        self.instance = "reused" if uses else "fresh"
        if uses and self.metrics is not None:
            self.metrics.instance_reused(app, unit)


class HttpObserver:
    """Turns each finished request into a metrics update and a request log line."""

    def __init__(self, metrics: _metrics.Metrics | None, log: logging.Logger | None) -> None:
        self.metrics = metrics
        self.log = log

    def begin(self, method: bytes, target: bytes) -> RequestRecord:
        if self.metrics is not None:
            self.metrics.http_in_flight.inc()
        return RequestRecord(method.decode("ascii", "replace"), target.decode("latin-1"),
                             time.perf_counter(), metrics=self.metrics)  # fmt: skip

    def end(self, record: RequestRecord) -> None:
        seconds = time.perf_counter() - record.started
        writer = record.writer
        status = writer.status if writer is not None and writer.started else record.status
        sent = writer.sent if writer is not None else 0
        if self.metrics is not None:
            self.metrics.http_answered(record.route, record.method, status, seconds, sent)
            self.metrics.http_in_flight.dec()  # after: in flight 0 means everything counted
        log = self.log
        if log is not None and log.isEnabledFor(logging.INFO):
            fields = {"method": record.method, "path": record.path, "status": status,
                      "bytes": sent, "duration_ms": round(seconds * 1000, 3),
                      "route": record.route or _metrics.NO_ROUTE, "unit": record.unit,
                      "instance": record.instance}  # fmt: skip
            log.info("%s %s %s", record.method, record.path, status, extra={"fields": fields})


def observer() -> HttpObserver | None:
    """What an HTTP server made now reports to; None when metrics and the request log are off."""
    metrics = _metrics.ACTIVE
    log = logging.getLogger(REQUEST_LOGGER) if _enabled else None
    if metrics is None and log is None:
        return None
    return HttpObserver(metrics, log)


def check_options(log_format: str, log_level: str) -> tuple[str, int]:
    """Validate `--log-format` and `--log-level`, in any case: (format, logging level)."""
    log_format = log_format.lower()
    if log_format not in FORMATS:
        raise WasmeshError(f"--log-format `{log_format}` is not one of {', '.join(FORMATS)}; "
                           "e.g. `--log-format json`.")  # fmt: skip
    if log_level.lower() not in LEVELS:
        raise WasmeshError(f"--log-level `{log_level}` is not one of {', '.join(LEVELS)}; "
                           "e.g. `--log-level info`.")  # fmt: skip
    return log_format, logging.getLevelNamesMapping()[log_level.upper()]


def configure(log_format: str = "text", log_level: str = "info",
              stream: TextIO | None = None) -> None:  # fmt: skip
    """Send the process's `wasmesh.*` log (requests, warnings, guests' output) to `stream`
    (default stderr) in `log_format` from `log_level` up; turns the request log on."""
    global _enabled
    from wasmesh.capabilities.wasi.guest_log import hide_guest_output, show_guest_output

    fmt, level = check_options(log_format, log_level)
    out = stream or sys.stderr
    reset()
    root = logging.getLogger("wasmesh")
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    _handlers.append(handler)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    hide_guest_output()
    guests = show_guest_output(out)
    guests.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    _enabled = True


_handlers: list[logging.Handler] = []


def reset() -> None:
    """Undo `configure`: the request log off, the `wasmesh` log as Python's defaults leave it,
    guests' output no longer shown."""
    global _enabled
    from wasmesh.capabilities.wasi.guest_log import hide_guest_output

    if not _enabled:
        return
    root = logging.getLogger("wasmesh")
    while _handlers:
        root.removeHandler(_handlers.pop())
    root.setLevel(logging.NOTSET)
    root.propagate = True
    hide_guest_output()
    _enabled = False


class TextFormatter(logging.Formatter):
    """`HH:MM:SS LEVEL message`, a request as `METHOD PATH STATUS BYTES ms unit route instance`,
    a guest's line as `HH:MM:SS component | line`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        if record.name.startswith(GUEST_PREFIX):
            return f"{stamp} {record.name.removeprefix(GUEST_PREFIX)} | {record.getMessage()}"
        fields = getattr(record, "fields", None)
        if fields is not None and record.name == REQUEST_LOGGER:
            f = fields
            where = " ".join(str(v) for v in (f["unit"], f["route"], f["instance"])
                             if v and v != _metrics.NO_ROUTE)  # fmt: skip
            return (f"{stamp} {f['method']} {f['path']} {f['status']} {f['bytes']} B "
                    f"{f['duration_ms']:.1f} ms {where}").rstrip()  # fmt: skip
        text = f"{stamp} {record.levelname.lower()} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record (JSON Lines)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name.startswith(GUEST_PREFIX):
            out["component"] = record.name.removeprefix(GUEST_PREFIX)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)
