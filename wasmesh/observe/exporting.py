"""The span exporter between the batch processor and OTLP/HTTP, imported only once tracing
is on: one warning per collector outage instead of the SDK exporter's line per retry.

While the collector does not answer, the official OTLP/HTTP exporter logs each retry and each
failed batch (several lines a second under load). `ReportingExporter` wraps it: its own
records are dropped, a failed export logs one warning naming the endpoint (`wasmesh.observe`
logger) and the first export that succeeds again logs one line at INFO. Spans of failed
batches are dropped, as the SDK drops them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

log = logging.getLogger("wasmesh.observe")

SDK_LOGGER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


class _Dropped(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.CRITICAL


class ReportingExporter(SpanExporter):
    """`inner` (the OTLP/HTTP exporter sending to `endpoint`), reporting outages once each."""

    def __init__(self, inner: SpanExporter, endpoint: str) -> None:
        self.inner = inner
        self.endpoint = endpoint
        self.down = False
        quiet = logging.getLogger(SDK_LOGGER)
        if not any(isinstance(f, _Dropped) for f in quiet.filters):
            quiet.addFilter(_Dropped())

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # the exporter's own failure: the same outage to report
            self._failed(str(exc))
            return SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            if self.down:
                self.down = False
                log.info("spans reach the collector at %s again", self.endpoint)
        else:
            self._failed("")
        return result

    def _failed(self, detail: str) -> None:
        if not self.down:
            self.down = True
            log.warning(
                "cannot send spans to the collector at %s%s; spans are dropped until it "
                "answers (said once per outage)", self.endpoint, f" ({detail})" if detail else "",
            )  # fmt: skip

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
