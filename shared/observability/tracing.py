"""OpenTelemetry traces, when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set.

Without one, tracing is off and free: :func:`tracer_provider` returns ``None`` and nothing of the SDK is
imported. With one, each app sends its spans over OTLP (HTTP/protobuf, port 4318 by convention) from a
``TracerProvider`` of its own:

- one server span per request, named ``POST /api/v1/orders`` (method and route template), from FastAPI's
  native telemetry (``FastAPI(telemetry=...)``: it also traces dependencies, the endpoint, serialization and
  background tasks) and from opentelemetry-instrumentation-flask;
- one client span per SQL statement (opentelemetry-instrumentation-sqlalchemy on the app's engine): the
  statement's text with its placeholders, never the values bound to them;
- a caller's W3C ``traceparent`` header continues its trace, and the order's confirmation, sent after the
  response, stays in the order's trace (FastAPI's background task; in Flask, opentelemetry-instrumentation-
  threading carries the trace into the confirmations' thread pool).

Every request is traced, the probes and ``/metrics`` too: leaving them out would leave their SQL statements
as traces of their own. Drop them with ``OTEL_TRACES_SAMPLER`` or in the collector.

Query strings keep the values of the API's own parameters (``limit``, ``offset``, ``q``): any other value, a
token a client put in the URL by mistake, say, is exported as ``REDACTED``
(:mod:`shared.observability.redaction`).

The provider is made with the app, and its exporter's thread starts where the server runs
(:func:`start_export`: FastAPI's lifespan; gunicorn's ``post_worker_init`` for Flask), like the outbox relay.
The SDK and the exporter read the standard variables themselves: ``OTEL_SERVICE_NAME`` (default here: the
app's name, ``shop-fastapi`` or ``shop-flask``), ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_TRACES_SAMPLER`` and ``OTEL_TRACES_SAMPLER_ARG``, ``OTEL_BSP_*``; ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` turns tracing off. Needs the ``otel`` extra (``pip install 'shop[otel]'``;
the images have it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from shared.config import ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy import Engine


def tracing_requested() -> bool:
    """Whether the environment asks for traces: an OTLP endpoint is set, and neither ``OTEL_SDK_DISABLED``
    nor ``OTEL_TRACES_EXPORTER=none`` says otherwise."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def tracer_provider(service_name: str) -> TracerProvider | None:
    """The app's provider, or ``None`` when :func:`tracing_requested` is false. It exports nothing until
    :func:`start_export`.

    Raises :class:`~shared.config.ConfigError` when traces are asked for but cannot be sent as asked: the
    ``otel`` extra is missing, ``OTEL_TRACES_EXPORTER`` names another exporter than ``otlp``, or
    ``OTEL_EXPORTER_OTLP_PROTOCOL`` another transport than ``http/protobuf``.
    """
    if not tracing_requested():
        return None
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter not in ("", "otlp"):
        raise ConfigError(
            f"OTEL_TRACES_EXPORTER must be otlp or none, the exporters the apps ship, got {exporter!r}"
        )
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = os.environ.get(name, "").strip()
        if protocol and protocol != "http/protobuf":
            raise ConfigError(f"{name} must be http/protobuf, the transport the apps ship, got {protocol!r}")
    try:
        from shared.observability import tracing_sdk  # the SDK: imported only now
    except ImportError as error:
        raise ConfigError(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set, but the OpenTelemetry SDK is not installed: "
            "pip install 'shop[otel]'"
        ) from error
    return tracing_sdk.new_tracer_provider(service_name)


def start_export(provider: TracerProvider) -> None:
    """Send ``provider``'s spans over OTLP from now on, in batches, from a thread of this process; call it
    where the server runs. ``provider.shutdown()`` sends what is left."""
    from shared.observability import tracing_sdk

    tracing_sdk.start_export(provider)


def trace_engine(engine: Engine, provider: TracerProvider) -> None:
    """A span for each statement ``engine`` runs (the async engine's ``sync_engine`` for asyncpg). Once per
    process: the instrumentation is a process-wide singleton (:class:`ConfigError` on a second call)."""
    from shared.observability import tracing_sdk

    if not tracing_sdk.trace_engine(engine, provider):
        raise ConfigError("SQLAlchemy's tracing is on already in this process: one app per process")
