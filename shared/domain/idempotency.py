"""Idempotency keys for ``POST /api/v1/orders``.

Semantics follow Stripe's API and the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header): the header value is a Structured Field string (RFC 8941 §3.3.3),
so ``"abc"`` (quoted) and Stripe-style bare ``abc`` name the same key. A retry with the same key and the same
body replays the first 201 response; the same key with a different body is refused; keys live 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# the header value that can name a key: printable ASCII, at most a quoted key with every character escaped
HEADER_MAX_LENGTH = 2 + 2 * MAX_KEY_LENGTH
HEADER_PATTERN = "^[ -~]+$"
KEY_TTL = timedelta(hours=24)


class InvalidIdempotencyKey(ValueError):
    """The header is empty, too long, or not printable ASCII.

    A ``ValueError``, not a :class:`~shared.domain.exceptions.DomainError`: it is raised while the request is
    validated (a Pydantic ``AfterValidator``, a marshmallow field), which reports it as 422 ``{"header":
    "Idempotency-Key"}``.
    """


@dataclass(frozen=True)
class PlacedOrder:
    """What placing an order produced: the order's id, the response body the client is sent (JSON text,
    rendered by the caller and stored as it is under the key, so a replay sends the same bytes), and whether
    this request ``replayed`` an earlier one instead of creating the order now."""

    order_id: int
    response_body: str
    replayed: bool


def parse_idempotency_key(raw: str) -> str:
    """Return the key named by a raw header value, unquoting a Structured Field string.

    Accepts ``abc`` and ``"abc"`` (with ``\\"`` and ``\\\\`` escapes) alike. The key must be 1..255 printable
    ASCII characters. Raises :class:`InvalidIdempotencyKey` otherwise.
    """
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = _unquote_sf_string(value[1:-1])
    if not 1 <= len(value) <= MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(f"{HEADER} must be 1..{MAX_KEY_LENGTH} characters.")
    if not all(" " <= ch <= "~" for ch in value):
        raise InvalidIdempotencyKey(f"{HEADER} must be printable ASCII.")
    return value


def _unquote_sf_string(inner: str) -> str:
    out = []
    chars = iter(inner)
    for ch in chars:
        if ch == "\\":
            escaped = next(chars, "")
            if escaped not in ('"', "\\"):
                raise InvalidIdempotencyKey(f"{HEADER} has an invalid escape in a quoted string.")
            out.append(escaped)
        elif ch == '"':
            raise InvalidIdempotencyKey(f"{HEADER} has an unescaped quote in a quoted string.")
        else:
            out.append(ch)
    return "".join(out)


def order_fingerprint(lines: Sequence[tuple[int, int]]) -> str:
    """SHA-256 hex digest naming an order's ``lines`` of ``(product_id, quantity)``, in the client's order.

    It is the digest of the canonical JSON of the request body the lines came from (sorted keys, no
    whitespace: ``{"items":[{"product_id":1,"quantity":2}]}``), so two bodies that differ only in member
    order or formatting get the same fingerprint.
    """
    body = {"items": [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines]}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def advisory_lock_key(key: str) -> int:
    """A signed 32-bit number naming ``key`` for ``pg_try_advisory_xact_lock(user_id, n)``.

    A collision between two keys of the same user only makes one of them answer 409 "in use" while the
    other is in flight, which a client retries.
    """
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)
