"""What both apps say about the HTTP API as a whole: its description, body size limit and CORS policy.

The allowed origins are configuration (``CORS_ORIGINS``, see :mod:`shared.config`); what a browser may send
and read is part of the API, so it is fixed here, once for both apps.
"""

from __future__ import annotations

from shared.idempotency import HEADER as IDEMPOTENCY_KEY_HEADER
from shared.request_id import HEADER as REQUEST_ID_HEADER

VERSION = "1.0.0"
DESCRIPTION = "Catalog, accounts and orders. Money is in integer cents (USD); errors are RFC 9457 problems."
MAX_BODY_BYTES = 1024 * 1024  # larger request bodies get 413

CORS_METHODS = ("GET", "POST", "PATCH")
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", IDEMPOTENCY_KEY_HEADER, REQUEST_ID_HEADER)
CORS_EXPOSE_HEADERS = ("Location", "Idempotent-Replayed", REQUEST_ID_HEADER)
CORS_MAX_AGE_SECONDS = 600
