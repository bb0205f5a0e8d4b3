"""``Idempotency-Key`` on POST /orders: replays, reuse with another body, concurrency, scope and expiry."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from contract_tests.client import Api, Customer, assert_invalid, assert_problem, unique
from contract_tests.concurrently import run_together


def test_a_retry_replays_the_first_response_and_creates_nothing(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=10)
    key = unique("key-")
    first = api.place_order(customer, [(product["id"], 2)], key=key, expect=201)
    assert "Idempotent-Replayed" not in first.headers
    retry = api.place_order(customer, [(product["id"], 2)], key=key, expect=201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert api.stock(product["id"]) == 8
    assert api.order_count(customer) == 1


def test_a_quoted_key_is_the_same_key(api: Api, customer: Customer) -> None:
    """The IETF draft sends a Structured Field string ("abc"); Stripe sends abc. Both name one key."""
    product = api.create_product()
    key = unique("key-")
    first = api.place_order(customer, [(product["id"], 1)], key=f'"{key}"', expect=201)
    retry = api.place_order(customer, [(product["id"], 1)], key=key, expect=201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert api.order_count(customer) == 1


def test_member_order_and_whitespace_do_not_make_another_body(api: Api, customer: Customer) -> None:
    product = api.create_product()
    key = unique("key-")
    first = api.place_order(customer, [(product["id"], 1)], key=key, expect=201)
    retry = api.http.post(
        "/api/v1/orders",
        content=f'{{ "items" : [ {{"quantity": 1, "product_id": {product["id"]}}} ] }}',
        headers={**customer.auth, "Idempotency-Key": key, "Content-Type": "application/json"},
    )
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]


def test_the_same_key_with_another_body_is_422(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=10)
    key = unique("key-")
    api.place_order(customer, [(product["id"], 1)], key=key, expect=201)
    reused = api.place_order(customer, [(product["id"], 2)], key=key, expect=422)
    assert_problem(reused, 422, "idempotency-key-reused")
    assert api.stock(product["id"]) == 9
    assert api.order_count(customer) == 1


def test_keys_belong_to_one_user(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=10)
    key = unique("key-")
    mine = api.place_order(customer, [(product["id"], 1)], key=key, expect=201)
    theirs = api.place_order(api.new_customer(), [(product["id"], 1)], key=key, expect=201)
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert api.stock(product["id"]) == 8


def test_error_responses_are_not_stored(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=1)
    key = unique("key-")
    assert_problem(
        api.place_order(customer, [(product["id"], 2)], key=key, expect=409), 409, "insufficient-stock"
    )
    api.set_stock(product["id"], 5)
    retry = api.place_order(customer, [(product["id"], 2)], key=key, expect=201)
    assert "Idempotent-Replayed" not in retry.headers
    assert api.stock(product["id"]) == 3


@pytest.mark.parametrize(
    "bad", ["x" * 256, '""', "caf\u00e9"], ids=["256-characters", "empty-quoted-string", "non-ascii"]
)
def test_a_key_outside_1_to_255_printable_characters_is_422(api: Api, customer: Customer, bad: str) -> None:
    """Keys are 1 to 255 printable ASCII characters, counted without the quotes of a quoted key."""
    product = api.create_product(stock=10)
    headers = {**customer.auth, "Idempotency-Key": bad}
    body = {"items": [{"product_id": product["id"], "quantity": 1}]}
    response = api.http.post("/api/v1/orders", json=body, headers=httpx.Headers(headers, encoding="utf-8"))
    assert_invalid(response, header="Idempotency-Key")
    assert api.stock(product["id"]) == 10
    assert api.order_count(customer) == 0


def test_a_key_of_255_characters_is_accepted(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=10)
    api.place_order(customer, [(product["id"], 1)], key="k" * 255, expect=201)
    assert api.stock(product["id"]) == 9


def test_concurrent_requests_with_one_key_create_one_order(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=100)
    key = unique("key-")
    body = {"items": [{"product_id": product["id"], "quantity": 3}]}

    def attempt(client: httpx.Client) -> httpx.Response:
        return client.post("/api/v1/orders", json=body, headers={**customer.auth, "Idempotency-Key": key})

    responses = run_together(api.base_url, [attempt] * 10)
    created = [r for r in responses if r.status_code == 201]
    assert created, [r.text for r in responses]
    assert len({r.json()["id"] for r in created}) == 1
    for response in responses:
        if response.status_code != 201:
            assert_problem(response, 409, "idempotency-key-in-use")
    assert api.stock(product["id"]) == 97
    assert api.order_count(customer) == 1


def test_an_expired_key_is_forgotten(api: Api, customer: Customer, database_url: str) -> None:
    product = api.create_product(stock=10)
    key = unique("key-")
    first = api.place_order(customer, [(product["id"], 1)], key=key, expect=201)
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "UPDATE idempotency_keys SET expires_at = now() - interval '1 second'"
            " WHERE user_id = %s AND key = %s",
            (customer.id, key),
        )
    again = api.place_order(customer, [(product["id"], 1)], key=key, expect=201)
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert api.stock(product["id"]) == 8
