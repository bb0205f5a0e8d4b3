"""Both apps on one database: accounts, tokens and orders cross over; they document the same API.

Each test runs once per ordered pair of apps (``[fastapi->flask]``, ``[flask->fastapi]``); with one app in
the stack there are no pairs and pytest reports the tests as skipped.
"""

from __future__ import annotations

import pytest

from contract_tests.client import PASSWORD, Api, Customer, assert_problem, unique
from contract_tests.concurrently import Request, run_together


@pytest.fixture
def api(first_and_second: tuple[Api, Api]) -> Api:
    """The app a test starts on, the first of the pair: where the ``customer`` fixture registers."""
    return first_and_second[0]


def test_a_user_registered_on_one_app_gets_a_token_from_the_other(first_and_second: tuple[Api, Api]) -> None:
    first, second = first_and_second
    registered = first.register(email=unique("cross-") + "@example.com", expect=201)
    issued = second.token(registered.json()["email"], PASSWORD, expect=200)
    me = second.http.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {issued.json()['access_token']}"}
    )
    assert me.json() == registered.json()


def test_a_token_from_one_app_works_on_the_other(
    first_and_second: tuple[Api, Api], customer: Customer
) -> None:
    first, second = first_and_second
    on_first = first.http.get("/api/v1/users/me", headers=customer.auth)
    on_second = second.http.get("/api/v1/users/me", headers=customer.auth)
    assert on_second.status_code == 200
    assert on_second.json() == on_first.json()


def test_logging_out_on_one_app_revokes_the_token_on_the_other(
    first_and_second: tuple[Api, Api], customer: Customer
) -> None:
    first, second = first_and_second
    assert second.http.post("/api/v1/auth/logout", headers=customer.auth).status_code == 204
    assert_problem(first.http.get("/api/v1/users/me", headers=customer.auth), 401)


def test_failed_logins_on_one_app_throttle_the_other(first_and_second: tuple[Api, Api]) -> None:
    first, second = first_and_second
    email = unique("guessed-") + "@example.com"
    for _ in range(5):  # the apps' default SHOP_LOGIN_FAILURES_PER_ACCOUNT
        assert_problem(first.token(email, "not the password", expect=401), 401)
    assert_problem(second.token(email, "not the password", expect=429), 429, "login-throttled")


def test_an_order_reads_the_same_on_both_apps(first_and_second: tuple[Api, Api], customer: Customer) -> None:
    first, second = first_and_second
    a, b = first.create_product(stock=5, price_cents=1999), first.create_product(stock=5, price_cents=1)
    placed = first.place_order(customer, [(b["id"], 2), (a["id"], 1)], expect=201)
    order_id = placed.json()["id"]
    confirmed = first.wait_until_confirmed(customer, order_id)
    assert confirmed["status"] == "confirmed"
    url = f"/api/v1/orders/{order_id}"
    assert (
        second.http.get(url, headers=customer.auth).json()
        == first.http.get(url, headers=customer.auth).json()
    )
    lists = [api.http.get("/api/v1/orders", headers=customer.auth).json() for api in (first, second)]
    assert lists[0] == lists[1]


def test_an_order_placed_on_one_app_is_cancelled_on_the_other(
    first_and_second: tuple[Api, Api], customer: Customer
) -> None:
    first, second = first_and_second
    product = first.create_product(stock=5)
    order = first.place_order(customer, [(product["id"], 3)], expect=201).json()
    cancelled = second.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.auth)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert first.http.get(f"/api/v1/orders/{order['id']}", headers=customer.auth).json() == cancelled.json()
    assert first.stock(product["id"]) == second.stock(product["id"]) == 5
    assert_problem(
        first.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.auth),
        409,
        "order-not-cancellable",
    )


def test_an_idempotent_retry_on_the_other_app_is_a_replay(
    first_and_second: tuple[Api, Api], customer: Customer
) -> None:
    first, second = first_and_second
    product = first.create_product(stock=5)
    key = unique("key-")
    original = first.place_order(customer, [(product["id"], 1)], key=key, expect=201)
    retry = second.place_order(customer, [(product["id"], 1)], key=f'"{key}"', expect=201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == original.json()
    assert first.stock(product["id"]) == 4


def test_racing_through_both_apps_never_oversells(first_and_second: tuple[Api, Api]) -> None:
    first, second = first_and_second
    stock = 6
    product = first.create_product(stock=stock)
    customers = [first.new_customer() for _ in range(24)]

    def buyer(customer: Customer) -> Request:
        body = {"items": [{"product_id": product["id"], "quantity": 1}]}
        return lambda client: client.post("/api/v1/orders", json=body, headers=customer.auth)

    apps = [(first, second)[i % 2].base_url for i in range(len(customers))]  # alternate between the apps
    responses = run_together(apps, [buyer(c) for c in customers])
    assert sorted(r.status_code for r in responses) == [201] * stock + [409] * (len(customers) - stock)
    assert first.stock(product["id"]) == second.stock(product["id"]) == 0
