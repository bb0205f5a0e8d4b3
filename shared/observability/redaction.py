"""Query strings in exported spans: the API's own parameters keep their values, every other is redacted.

The instrumentations record whole query strings, and a client may put a token or a password in one by
mistake; :func:`redact_span_queries` replaces those values with ``REDACTED`` before a span leaves the process
(:mod:`shared.observability.tracing`). It needs the SDK's span only as the object it is given, and imports
nothing of OpenTelemetry, so it is testable without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import Span

# the query parameters of the API (docs/api.md); every other value is redacted in spans
API_QUERY_PARAMETERS = frozenset({"limit", "offset", "q"})
REDACTED = "REDACTED"
# span attributes that carry a query string: the stable HTTP conventions' url.query and url.full, and the
# older http.target and http.url that opentelemetry-instrumentation-wsgi still writes by default
QUERY_ATTRIBUTES = ("url.query",)
URL_ATTRIBUTES = ("url.full", "http.url", "http.target")


def redact_query(query: str) -> str:
    """``query`` with the value of every parameter but the API's own replaced by ``REDACTED``."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(key, value if key in API_QUERY_PARAMETERS else REDACTED) for key, value in pairs])


def redact_span_queries(span: Span) -> None:
    """Redact the query strings ``span`` has recorded so far (:func:`redact_query`): the instrumentations
    record whole query strings, and a client may put a token or a password in one.

    FastAPI's telemetry records them as its request span starts, where the provider's first processor calls
    this; opentelemetry-instrumentation-flask records them again after the start, so the Flask app calls this
    from the instrumentation's ``response_hook`` too.
    """
    attributes = span.attributes or {}
    for name in QUERY_ATTRIBUTES:
        if isinstance(value := attributes.get(name), str):
            span.set_attribute(name, redact_query(value))
    for name in URL_ATTRIBUTES:
        if isinstance(value := attributes.get(name), str) and "?" in value:
            parts = urlsplit(value)
            span.set_attribute(name, urlunsplit(parts._replace(query=redact_query(parts.query))))
