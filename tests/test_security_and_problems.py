"""Unit tests for hashing, tokens, request ids and the problem-details mapping."""

from __future__ import annotations

import hashlib

from shared.domain.exceptions import (
    IdempotencyKeyInUse,
    InsufficientStock,
    NotFound,
    OrderNotCancellable,
    UnknownProduct,
)
from shared.domain.order_status import OrderStatus
from shared.domain.security import hash_password, hash_token, new_token, verify_password
from shared.http.problems import domain_problem, http_problem
from shared.http.request_id import request_id_from


def test_passwords_are_argon2id_and_verify() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "Correct horse battery")


def test_an_unknown_user_never_verifies() -> None:
    assert not verify_password(None, "not-a-real-password")  # the dummy hash's own password
    assert not verify_password("not a hash", "anything")


def test_tokens_are_random_and_stored_as_sha256() -> None:
    token, token_hash = new_token()
    assert len(token) >= 43  # 32 bytes of base64url
    assert token_hash == hashlib.sha256(token.encode()).hexdigest() == hash_token(token)
    assert new_token()[0] != token


def test_request_ids_are_echoed_only_when_sane() -> None:
    assert request_id_from("abc-123.x:y_z") == "abc-123.x:y_z"
    for insane in (None, "", "has space", "x" * 129, "new\nline"):
        generated = request_id_from(insane)
        assert generated != insane
        assert len(generated) == 32


def test_domain_errors_map_to_problem_types_and_statuses() -> None:
    stock = domain_problem(InsufficientStock(product_id=4, requested=3, available=1)).to_dict()
    assert stock["type"] == "https://shop.example/problems/insufficient-stock"
    assert (stock["status"], stock["product_id"], stock["requested"], stock["available"]) == (409, 4, 3, 1)
    assert domain_problem(UnknownProduct(9)).status == 422
    assert domain_problem(OrderNotCancellable(OrderStatus.CANCELLED)).type.endswith("/order-not-cancellable")
    assert domain_problem(IdempotencyKeyInUse()).status == 409
    not_found = domain_problem(NotFound("Order 3 does not exist.")).to_dict()
    assert (not_found["type"], not_found["status"], not_found["title"]) == ("about:blank", 404, "Not Found")


def test_plain_http_problems_use_the_reason_phrase() -> None:
    assert http_problem(415).to_dict() == {
        "type": "about:blank",
        "title": "Unsupported Media Type",
        "status": 415,
        "detail": "Unsupported Media Type.",
    }
