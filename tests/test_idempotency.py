"""Unit tests for Idempotency-Key parsing and request fingerprints."""

from __future__ import annotations

import hashlib

import pytest

from shared.domain.idempotency import (
    InvalidIdempotencyKey,
    advisory_lock_key,
    order_fingerprint,
    parse_idempotency_key,
)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("abc-123", "abc-123"),
        ('"abc-123"', "abc-123"),  # Structured Field string (RFC 8941 §3.3.3)
        ('"with \\"quotes\\" and \\\\"', 'with "quotes" and \\'),
        ("  padded  ", "padded"),
        ("x" * 255, "x" * 255),
        ("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"),
    ],
)
def test_keys_are_read_bare_or_quoted(raw: str, key: str) -> None:
    assert parse_idempotency_key(raw) == key


@pytest.mark.parametrize(
    "raw", ["", '""', "x" * 256, '"' + "x" * 256 + '"', "caf\u00e9", "tab\there", '"bad \\n escape"']
)
def test_invalid_keys_are_refused(raw: str) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        parse_idempotency_key(raw)


def test_fingerprints_are_the_canonical_body_digest() -> None:
    # the digest the apps stored before fingerprints were computed from the lines: keys stay valid across
    # a rolling update, whichever version of either app reads them
    canonical = b'{"items":[{"product_id":1,"quantity":2},{"product_id":3,"quantity":1}]}'
    assert order_fingerprint([(1, 2), (3, 1)]) == hashlib.sha256(canonical).hexdigest()


def test_fingerprints_see_every_value_and_the_line_order() -> None:
    base = order_fingerprint([(1, 2), (3, 1)])
    assert base != order_fingerprint([(1, 3), (3, 1)])
    assert base != order_fingerprint([(3, 1), (1, 2)])


def test_advisory_lock_keys_are_signed_32_bit_and_stable() -> None:
    keys = [advisory_lock_key(f"key-{i}") for i in range(1000)]
    assert all(-(2**31) <= k < 2**31 for k in keys)
    assert advisory_lock_key("key-7") == keys[7]
    assert len(set(keys)) > 990
