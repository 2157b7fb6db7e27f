"""OpenTelemetry traces across states: one trace follows a search from the officer's NCP into every peer.

The gRPC client interceptor injects the W3C `traceparent` into the call metadata and the serving stack
(`interceptors.ServingStack`) continues it, so the spans of all states share one trace id. Which traces are
recorded is the sampler's choice, made once where a trace starts and followed by every state after it
(parent-based): `sample_ratio` 1.0 records every trace (the demo, `prum up` by default), a load run a share
(`prum bench load --trace-sample`), and an unsampled call costs almost nothing. By default spans go to a
JSON-lines file (one span per line); `exporter="otlp"` sends them over OTLP gRPC to an OpenTelemetry Collector at
OTEL_EXPORTER_OTLP_ENDPOINT (`opentelemetry-exporter-otlp-proto-grpc`; the nodes on Kubernetes, `node
--trace-exporter otlp`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased


class JsonLinesSpanExporter(SpanExporter):
    """Writes each finished span as one JSON line to a file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(json.loads(span.to_json()), separators=(",", ":")) for span in spans]
        with self._lock:
            if self._file.closed:
                return SpanExportResult.FAILURE
            self._file.write("".join(line + "\n" for line in lines))
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()


def sampler_of(ratio: float) -> Sampler:
    """Parent-based: a call inside a trace follows the trace's decision; a trace that starts here is recorded
    with probability `ratio` (0.0 to 1.0), decided on its trace id so every state decides alike."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"trace sample ratio {ratio!r}; allowed: 0.0 to 1.0")
    return ParentBased(TraceIdRatioBased(ratio))


def create_tracer_provider(service_name: str, exporter: str = "file", path: Path | None = None,
                           sample_ratio: float = 1.0) -> TracerProvider:
    """A tracer provider for this process: exporter "file" (JSON lines at `path`), "otlp" or "none"; traces that
    start here are recorded with probability `sample_ratio` (`sampler_of`)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}),
                              sampler=sampler_of(sample_ratio))
    if exporter == "file":
        provider.add_span_processor(BatchSpanProcessor(JsonLinesSpanExporter(path or Path("prum-traces.jsonl"))))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif exporter != "none":
        raise ValueError(f"unknown trace exporter {exporter!r}; allowed: file, otlp, none")
    return provider


def current_trace_id() -> str | None:
    """Hex id of the trace the current call belongs to, for log lines and reports."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
