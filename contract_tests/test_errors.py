"""Errors everywhere are RFC 9457 problem documents with the same statuses, types and pointers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from contract_tests.client import Api, Customer, assert_invalid, assert_problem


def test_unknown_route_is_404(api: Api) -> None:
    assert_problem(api.http.get("/api/v1/no-such-thing"), 404)


def test_wrong_method_is_405_with_allow(api: Api) -> None:
    response = api.http.delete("/api/v1/products")
    assert_problem(response, 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


def test_malformed_json_is_400(api: Api, customer: Customer) -> None:
    response = api.http.post(
        "/api/v1/orders",
        content=b'{"items": [',
        headers={**customer.auth, "Content-Type": "application/json"},
    )
    assert_problem(response, 400)


def test_wrong_content_type_is_415(api: Api) -> None:
    body = json.dumps({"email": "x@example.com", "password": "long enough", "full_name": "X"})
    response = api.http.post("/api/v1/auth/register", content=body, headers={"Content-Type": "text/plain"})
    assert_problem(response, 415)


def test_json_to_the_token_endpoint_is_415(api: Api) -> None:
    response = api.http.post("/api/v1/auth/token", json={"username": "a@example.com", "password": "x"})
    assert_problem(response, 415)


def test_body_over_one_mebibyte_is_413(api: Api) -> None:
    huge = json.dumps({"email": "x@example.com", "password": "p" * 8, "full_name": "x" * (1024 * 1024)})
    # own connection: after a 413 the server may close it without reading the body (RFC 9110 §15.5.14)
    response = httpx.post(
        f"{api.base_url}/api/v1/auth/register", content=huge, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413)


def test_a_chunked_body_over_one_mebibyte_is_413(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"email": "x@example.com", "password": "pppppppp", "full_name": "'
        for _ in range(80):
            yield b"x" * 16384
        yield b'"}'

    response = httpx.post(  # own connection, as above
        f"{api.base_url}/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


def test_a_string_is_not_an_integer(api: Api, customer: Customer) -> None:
    body = {"items": [{"product_id": 1, "quantity": "1"}]}
    response = api.http.post("/api/v1/orders", json=body, headers=customer.auth)
    assert_invalid(response, pointer="/items/0/quantity")


def test_a_fraction_is_not_a_quantity(api: Api, customer: Customer) -> None:
    body = {"items": [{"product_id": 1, "quantity": 1.5}]}
    response = api.http.post("/api/v1/orders", json=body, headers=customer.auth)
    assert_invalid(response, pointer="/items/0/quantity")


def test_a_boolean_is_not_a_number(api: Api, customer: Customer) -> None:
    body = {"items": [{"product_id": True, "quantity": 1}]}
    response = api.http.post("/api/v1/orders", json=body, headers=customer.auth)
    assert_invalid(response, pointer="/items/0/product_id")


def test_a_missing_member_points_where_it_should_be(api: Api, customer: Customer) -> None:
    body = {"items": [{"product_id": 1, "quantity": 1}, {"product_id": 2}]}
    response = api.http.post("/api/v1/orders", json=body, headers=customer.auth)
    assert_invalid(response, pointer="/items/1/quantity")


def test_an_unknown_member_is_rejected(api: Api, customer: Customer) -> None:
    body = {"items": [{"product_id": 1, "quantity": 1, "unit_price_cents": 1}]}
    response = api.http.post("/api/v1/orders", json=body, headers=customer.auth)
    assert_invalid(response, pointer="/items/0/unit_price_cents")


@pytest.mark.parametrize("body", [[], "items", 3], ids=["array", "string", "number"])
def test_a_body_that_is_not_an_object_points_at_the_whole_body(
    api: Api, customer: Customer, body: object
) -> None:
    response = api.http.post("/api/v1/orders", json=body, headers=customer.auth)
    assert_invalid(response, pointer="")


def test_a_null_body_points_at_the_whole_body(api: Api, customer: Customer) -> None:
    response = api.http.post(
        "/api/v1/orders", content=b"null", headers={**customer.auth, "Content-Type": "application/json"}
    )
    assert_invalid(response, pointer="")


def test_every_invalid_member_is_reported(api: Api) -> None:
    response = api.http.post("/api/v1/auth/register", json={"email": "not-an-email", "password": "short"})
    problem = assert_problem(response, 422, "validation-error")
    pointers = [error["pointer"] for error in problem["errors"]]
    assert sorted(pointers) == ["/email", "/full_name", "/password"]  # each once


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("limit", 0), ("limit", 101), ("limit", "ten"), ("offset", -1)],
    ids=["limit-0", "limit-101", "limit-not-a-number", "offset-negative"],
)
def test_invalid_query_parameters_are_named(api: Api, parameter: str, value: int | str) -> None:
    assert_invalid(api.http.get("/api/v1/products", params={parameter: value}), parameter=parameter)


def test_form_fields_are_reported_like_body_members(api: Api) -> None:
    response = api.http.post("/api/v1/auth/token", data={"password": "whatever"})
    assert_invalid(response, pointer="/username")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/abc",
        "/api/v1/products/0",
        "/api/v1/products/99999999999999999999",
        "/api/v1/orders/1.5",
    ],
    ids=["letters", "zero", "beyond-int4", "decimal"],
)
def test_a_malformed_path_id_is_404(api: Api, customer: Customer, path: str) -> None:
    assert_problem(api.http.get(path, headers=customer.auth), 404)
