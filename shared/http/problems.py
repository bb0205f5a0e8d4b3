"""RFC 9457 problem details: the error vocabulary both apps speak.

A problem document is ``{"type", "title", "status", "detail"}`` plus extension members, served as
``application/problem+json``. ``type`` is ``about:blank`` for plain HTTP errors (RFC 9457 §4.2.1; ``title`` is
then the HTTP reason phrase) and ``https://shop.example/problems/<slug>`` for the shop's own problems. HTTP
statuses appear here and in each app's ``errors.py``, never in services.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from shared.domain import exceptions
from shared.unavailable import RETRY_AFTER_SECONDS, describe, unavailable_reason

log = logging.getLogger("shop.errors")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://shop.example/problems/"


@dataclass(frozen=True)
class Problem:
    """One problem document; :meth:`to_dict` gives the JSON body, ``headers`` the response header fields that
    go with it (``Retry-After`` on a 429 or a 503)."""

    status: int
    title: str
    detail: str
    type: str = "about:blank"
    extensions: dict[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extensions,
        }


def http_problem(status: int, detail: str | None = None) -> Problem:
    """A plain HTTP error (``type`` ``about:blank``), e.g. 404, 405, 415 or 500."""
    phrase = HTTPStatus(status).phrase
    return Problem(status=status, title=phrase, detail=detail or phrase + ".")


def raw_problem_response(status: int, detail: str) -> bytes:
    """A whole HTTP/1.1 response carrying ``http_problem(status, detail)``, with ``Connection: close``: what
    the HTTP servers send (in place of their HTML or plain-text pages) for a request they refuse before any
    app runs, such as a malformed request line (400) or one that is too long (414)."""
    body = json.dumps(http_problem(status, detail).to_dict()).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Content-Type: {MEDIA_TYPE}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def validation_problem(errors: list[dict[str, str]]) -> Problem:
    """422 ``validation-error``; ``errors`` holds ``{"pointer"|"parameter"|"header": ..., "detail": ...}``.

    ``pointer`` is an RFC 6901 JSON Pointer into the request body (``/items/0/quantity``; ``""`` is the
    whole body), ``parameter`` names a query parameter and ``header`` a request header.
    """
    return Problem(
        status=422,
        type=TYPE_BASE + "validation-error",
        title="Your request is not valid.",
        detail="The request has invalid members; see errors.",
        extensions={"errors": errors},
    )


def json_pointer(tokens: Iterable[object]) -> str:
    """The RFC 6901 JSON Pointer of a path of member names and array indexes: ``("items", 0, "a/b")`` is
    ``/items/0/a~1b`` (``~`` is escaped as ``~0``, ``/`` as ``~1``, §3); no tokens is ``""``, the whole
    document."""
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in tokens)


# domain exception -> (status, slug, title)
_DOMAIN: dict[type[exceptions.DomainError], tuple[int, str, str]] = {
    exceptions.EmailTaken: (409, "email-taken", "Email already registered."),
    exceptions.SkuTaken: (409, "sku-taken", "SKU already exists."),
    exceptions.UnknownProduct: (422, "unknown-product", "Unknown product."),
    exceptions.InsufficientStock: (409, "insufficient-stock", "Not enough stock."),
    exceptions.OrderNotCancellable: (409, "order-not-cancellable", "Order cannot be cancelled."),
    exceptions.IdempotencyKeyReused: (422, "idempotency-key-reused", "Idempotency key reused."),
    exceptions.IdempotencyKeyInUse: (409, "idempotency-key-in-use", "Idempotency key in use."),
    exceptions.LoginThrottled: (429, "login-throttled", "Too many failed logins."),
    exceptions.StockOutOfRange: (409, "stock-out-of-range", "Stock out of range."),
    exceptions.NotAnAdmin: (403, "not-an-admin", "Not an admin account."),
    exceptions.OwnAdminRight: (409, "own-admin-right", "Cannot revoke your own admin right."),
}


def domain_problem(exc: exceptions.DomainError) -> Problem:
    """The problem document for a domain exception (see the table above); a throttled login's carries
    ``Retry-After`` (RFC 6585 §4)."""
    if isinstance(exc, exceptions.NotFound):
        return http_problem(404, str(exc))
    status, slug, title = _DOMAIN[type(exc)]
    extensions: dict[str, Any] = {}
    if isinstance(exc, exceptions.InsufficientStock):
        extensions = {
            "product_id": exc.product_id,
            "requested": exc.requested,
            "available": exc.available,
        }
    elif isinstance(exc, exceptions.UnknownProduct):
        extensions = {"product_id": exc.product_id}
    headers = {}
    if isinstance(exc, exceptions.LoginThrottled):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    detail = str(exc) or title
    return Problem(
        status=status,
        type=TYPE_BASE + slug,
        title=title,
        detail=detail,
        extensions=extensions,
        headers=headers,
    )


def unavailable_problem(detail: str) -> Problem:
    """503 ``service-unavailable`` with ``Retry-After``: the request could succeed later
    (:mod:`shared.unavailable`)."""
    return Problem(
        status=503,
        type=TYPE_BASE + "service-unavailable",
        title="Service unavailable, try again shortly.",
        detail=detail,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unavailable_problem_for(exc: BaseException, *, method: str, path: str) -> Problem | None:
    """The 503 problem for ``exc`` raised while serving ``method path``, logged as one warning line without a
    traceback; ``None`` when ``exc`` is none of the cases of :func:`shared.unavailable.unavailable_reason` (a
    bug: the caller answers ``500`` and logs the traceback)."""
    reason = unavailable_reason(exc)
    if reason is None:
        return None
    log.warning("503 on %s %s: %s (%s)", method, path, reason, describe(exc))
    return unavailable_problem(reason)
