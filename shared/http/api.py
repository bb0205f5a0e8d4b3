"""What both apps say about the HTTP API as a whole: its description, limits, timestamps and CORS policy.

The allowed origins are configuration (``CORS_ORIGINS``, see :mod:`shared.config`); what a browser may send
and read is part of the API, so it is fixed here, once for both apps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shared.domain.idempotency import HEADER as IDEMPOTENCY_KEY_HEADER
from shared.http.request_id import HEADER as REQUEST_ID_HEADER

VERSION = "1.0.0"
DESCRIPTION = "Catalog, accounts and orders. Money is in integer cents (USD); errors are RFC 9457 problems."
# /docs (Swagger UI) and /redoc load their scripts from the app itself, never a CDN:
# shared/http/static/README.md
STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL_PATH = "/static"
SWAGGER_UI_URL = f"{STATIC_URL_PATH}/swagger-ui/"  # the folder: swagger-ui-bundle.js, swagger-ui.css, ...
REDOC_JS_URL = f"{STATIC_URL_PATH}/redoc/redoc.standalone.js"
# how long browsers may keep the back office's own assets (/admin/assets) before asking again
ASSET_MAX_AGE_SECONDS = 3600
MAX_BODY_BYTES = 1024 * 1024  # larger request bodies get 413
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"  # the token endpoint's body (RFC 6749 §4.3.2)
# What the HTTP servers accept before the app runs, the same in both (gunicorn's defaults, which
# flask_shop/gunicorn.conf.py states and fastapi_shop/server.py enforces in uvicorn). Beyond them: 414 for
# the request line, 431 for the header fields, as problem documents
# (shared.http.problems.raw_problem_response).
MAX_REQUEST_LINE_BYTES = 4094  # "METHOD target HTTP/1.1", without its CRLF
MAX_HEADER_FIELDS = 100
MAX_HEADER_FIELD_BYTES = 8190  # one field line, "name: value" and its CRLF

# OpenAPI response headers, by status: a 429 (shared/domain/logins.py) and a 503 (shared/unavailable.py)
# say when to try again
_RETRY_AFTER: dict[str, object] = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer"},
}
RESPONSE_HEADERS: dict[int, dict[str, dict[str, object]]] = {
    429: {"Retry-After": _RETRY_AFTER},
    503: {"Retry-After": _RETRY_AFTER},
}
# ... and of a 201: where the new resource is, and for an order whether the answer is a replay (docs/api.md)
_LOCATION: dict[str, object] = {
    "description": "The path of the new resource",
    "required": True,
    "schema": {"type": "string", "format": "uri-reference"},
}
CREATED_HEADERS: dict[str, dict[str, object]] = {"Location": _LOCATION}
ORDER_CREATED_HEADERS: dict[str, dict[str, object]] = {
    "Location": _LOCATION,
    "Idempotent-Replayed": {
        "description": "true when this is the stored answer to an earlier request with this Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    },
}

CORS_METHODS = ("GET", "POST", "PATCH")
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", IDEMPOTENCY_KEY_HEADER, REQUEST_ID_HEADER)
CORS_EXPOSE_HEADERS = ("Location", "Idempotent-Replayed", "Retry-After", REQUEST_ID_HEADER)
CORS_MAX_AGE_SECONDS = 600
# request headers a preflight may always name (the Fetch standard's CORS-safelisted request headers)
CORS_SAFELISTED_HEADERS = ("Accept", "Accept-Language", "Content-Language", "Content-Type")


def preflight_failures(
    *, origin: str, method: str, requested_headers: str | None, allowed_origins: tuple[str, ...]
) -> list[str]:
    """What a CORS preflight asks for that the policy refuses: some of ``"origin"``, ``"method"``,
    ``"headers"`` (Starlette's ``CORSMiddleware`` words); empty when the preflight is allowed.

    ``method`` is ``Access-Control-Request-Method``, ``requested_headers`` the comma-separated
    ``Access-Control-Request-Headers``. Both apps refuse such a preflight with a ``400`` problem document.
    """
    allowed_headers = {h.lower() for h in (*CORS_ALLOW_HEADERS, *CORS_SAFELISTED_HEADERS)}
    requested = [h.strip().lower() for h in (requested_headers or "").split(",") if h.strip()]
    failures = []
    if origin not in allowed_origins:
        failures.append("origin")
    if method not in CORS_METHODS:
        failures.append("method")
    if any(header not in allowed_headers for header in requested):
        failures.append("headers")
    return failures


def format_timestamp(value: datetime) -> str:
    """Render an aware datetime as RFC 3339 UTC with microseconds and ``Z``: ``2026-11-21T07:23:00.123456Z``.

    Both apps render every timestamp through this function, so the same stored value is the same bytes.
    Raises :class:`ValueError` for a naive datetime.
    """
    if value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; the schema stores timestamptz")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
