"""The observability layer: the same logs, metrics and traces from both apps.

- :mod:`~shared.observability.logs`: text or JSON lines, the access line of every request
- :mod:`~shared.observability.metrics`: Prometheus metrics at ``/metrics``, the same names and labels
- :mod:`~shared.observability.tracing`: OpenTelemetry traces when an OTLP endpoint is set; the SDK itself is
  imported only then (:mod:`~shared.observability.tracing_sdk`)
- :mod:`~shared.observability.redaction`: query strings in exported spans, redacted
"""
