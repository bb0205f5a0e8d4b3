"""The OpenTelemetry SDK side of :mod:`shared.observability.tracing`, imported only when tracing is on."""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy import Engine

from shared.observability.redaction import redact_span_queries


def new_tracer_provider(service_name: str) -> TracerProvider:
    """A provider whose spans have their query strings redacted; ``service_name`` unless ``OTEL_SERVICE_NAME``
    or ``OTEL_RESOURCE_ATTRIBUTES`` names the service."""
    resource = Resource.create()  # reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(RedactQueries())
    return provider


def start_export(provider: TracerProvider) -> None:
    # the exporter reads its endpoint, headers and timeout from the OTEL_EXPORTER_OTLP_* variables
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))


def trace_engine(engine: Engine, provider: TracerProvider) -> bool:
    # skip_dep_check: the instrumentation declares sqlalchemy < 2.1, the last line its own tests cover; it
    # hooks engine events that 2.1 keeps, and tests/test_telemetry.py checks that the spans arrive
    tracer = SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=provider, skip_dep_check=True)
    return tracer is not None


class RedactQueries(SpanProcessor):
    """Redacts the query strings of each span as it starts
    (:func:`shared.observability.redaction.redact_span_queries`)."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        redact_span_queries(span)
