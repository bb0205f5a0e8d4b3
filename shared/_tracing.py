"""The OpenTelemetry SDK side of :mod:`shared.telemetry`, imported only when tracing is on."""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy import Engine

from shared.telemetry import redact_span_queries


def otlp_tracer_provider(service_name: str) -> TracerProvider:
    """A provider for ``service_name`` whose spans, queries redacted, go in batches to the OTLP exporter,
    which reads its endpoint, headers and timeout from the ``OTEL_EXPORTER_OTLP_*`` variables."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(RedactQueries())  # first: it edits each span as it starts
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def trace_engine(engine: Engine, provider: TracerProvider) -> None:
    # skip_dep_check: the instrumentation declares sqlalchemy < 2.1, the last line its own tests cover; it
    # hooks engine events that 2.1 keeps, and tests/test_telemetry.py checks that the spans arrive
    SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=provider, skip_dep_check=True)


class RedactQueries(SpanProcessor):
    """Redacts the query strings of each span as it starts (:func:`shared.telemetry.redact_span_queries`), as
    FastAPI's telemetry records them."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        redact_span_queries(span)
