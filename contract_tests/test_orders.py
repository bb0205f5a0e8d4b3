"""Orders: placing (prices from the catalog, stock checked and taken atomically), reading, cancelling."""

from __future__ import annotations

import psycopg

from contract_tests.client import TIMESTAMP, Api, Customer, assert_invalid, assert_problem
from contract_tests.stacks import Deployment

ORDER_MEMBERS = {"id", "status", "items", "total_cents", "currency", "created_at", "confirmed_at"}


def test_placing_an_order_prices_it_from_the_catalog(api: Api, customer: Customer) -> None:
    mug = api.create_product(stock=10, price_cents=1800)
    beans = api.create_product(stock=5, price_cents=1295)
    response = api.place_order(customer, [(mug["id"], 2), (beans["id"], 1)], expect=201)
    order = response.json()
    assert set(order) == ORDER_MEMBERS
    assert response.headers["Location"] == f"/api/v1/orders/{order['id']}"
    assert order["status"] == "pending"
    assert order["confirmed_at"] is None
    assert TIMESTAMP.match(order["created_at"])
    assert order["currency"] == "USD"
    assert order["items"] == [
        {"product_id": mug["id"], "sku": mug["sku"], "name": mug["name"], "unit_price_cents": 1800,
         "quantity": 2, "line_total_cents": 3600},
        {"product_id": beans["id"], "sku": beans["sku"], "name": beans["name"], "unit_price_cents": 1295,
         "quantity": 1, "line_total_cents": 1295},
    ]  # fmt: skip
    assert order["total_cents"] == 4895


def test_placing_an_order_takes_stock(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=10)
    api.place_order(customer, [(product["id"], 3)], expect=201)
    assert api.stock(product["id"]) == 7


def test_an_order_keeps_the_price_it_was_placed_at(api: Api, customer: Customer) -> None:
    product = api.create_product(price_cents=1000)
    order = api.place_order(customer, [(product["id"], 1)], expect=201).json()
    patched = api.http.patch(
        f"/api/v1/products/{product['id']}", json={"price_cents": 9999}, headers=api.admin
    )
    assert patched.status_code == 200
    reread = api.http.get(f"/api/v1/orders/{order['id']}", headers=customer.auth).json()
    assert reread["items"][0]["unit_price_cents"] == 1000
    assert reread["total_cents"] == 1000


def test_the_confirmation_is_sent_after_the_response(api: Api, customer: Customer) -> None:
    product = api.create_product()
    order = api.place_order(customer, [(product["id"], 1)], expect=201).json()
    confirmed = api.wait_until_confirmed(customer, order["id"])
    assert confirmed["status"] == "confirmed"
    assert TIMESTAMP.match(confirmed["confirmed_at"])
    assert confirmed["confirmed_at"] >= confirmed["created_at"]


def test_a_leftover_confirmation_is_relayed(
    api: Api, customer: Customer, database_url: str, deployment: Deployment
) -> None:
    """As if the process died before its background task ran: the outbox row is still unsent."""
    product = api.create_product()
    order = api.place_order(customer, [(product["id"], 1)], expect=201).json()
    api.wait_until_confirmed(customer, order["id"])
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "UPDATE orders SET status = 'pending', confirmed_at = NULL WHERE id = %s", (order["id"],)
        )
        connection.execute("UPDATE outbox SET sent_at = NULL WHERE order_id = %s", (order["id"],))
    assert api.http.get(f"/api/v1/orders/{order['id']}", headers=customer.auth).json()["confirmed_at"] is None
    # the relay takes rows older than its interval, on its next round: at most two intervals
    relayed = api.wait_until_confirmed(customer, order["id"], timeout=2 * deployment.relay_seconds + 5)
    assert relayed["status"] == "confirmed"


def test_an_unknown_product_is_422_and_changes_nothing(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=4)
    response = api.place_order(customer, [(product["id"], 1), (2147483647, 1)], expect=422)
    problem = assert_problem(response, 422, "unknown-product")
    assert problem["product_id"] == 2147483647
    assert api.stock(product["id"]) == 4
    assert api.order_count(customer) == 0


def test_insufficient_stock_is_409_and_changes_nothing(api: Api, customer: Customer) -> None:
    plenty = api.create_product(stock=50)
    scarce = api.create_product(stock=2)
    response = api.place_order(customer, [(plenty["id"], 5), (scarce["id"], 3)], expect=409)
    problem = assert_problem(response, 409, "insufficient-stock")
    assert (problem["product_id"], problem["requested"], problem["available"]) == (scarce["id"], 3, 2)
    assert api.stock(plenty["id"]) == 50
    assert api.stock(scarce["id"]) == 2
    assert api.order_count(customer) == 0


def test_order_lines_are_1_to_50(api: Api, customer: Customer) -> None:
    assert_invalid(api.place_order(customer, [], expect=422), pointer="/items")
    many = [(product_id, 1) for product_id in range(1, 52)]
    assert_invalid(api.place_order(customer, many, expect=422), pointer="/items")


def test_quantities_are_1_to_100(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=500)
    assert_invalid(api.place_order(customer, [(product["id"], 0)], expect=422), pointer="/items/0/quantity")
    assert_invalid(api.place_order(customer, [(product["id"], 101)], expect=422), pointer="/items/0/quantity")
    api.place_order(customer, [(product["id"], 100)], expect=201)


def test_a_product_appears_at_most_once(api: Api, customer: Customer) -> None:
    product = api.create_product()
    response = api.place_order(customer, [(product["id"], 1), (product["id"], 2)], expect=422)
    assert_invalid(response, pointer="/items")
    assert api.stock(product["id"]) == 10


def test_placing_an_order_needs_a_token(api: Api) -> None:
    response = api.http.post("/api/v1/orders", json={"items": [{"product_id": 1, "quantity": 1}]})
    assert_problem(response, 401)


def test_orders_are_listed_newest_first_and_only_ones_own(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=20)
    placed = [api.place_order(customer, [(product["id"], 1)], expect=201).json()["id"] for _ in range(3)]
    api.place_order(api.new_customer(), [(product["id"], 1)], expect=201)
    response = api.http.get("/api/v1/orders", headers=customer.auth)
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "total", "limit", "offset"}
    assert page["total"] == 3
    assert [order["id"] for order in page["items"]] == placed[::-1]
    assert all(set(order) == ORDER_MEMBERS for order in page["items"])
    second = api.http.get("/api/v1/orders", params={"limit": 1, "offset": 1}, headers=customer.auth).json()
    assert [order["id"] for order in second["items"]] == [placed[1]]


def test_an_order_is_read_by_its_owner(api: Api, customer: Customer) -> None:
    product = api.create_product()
    placed = api.place_order(customer, [(product["id"], 2)], expect=201).json()
    response = api.http.get(f"/api/v1/orders/{placed['id']}", headers=customer.auth)
    assert response.status_code == 200
    order = response.json()
    assert {k: v for k, v in order.items() if k not in ("status", "confirmed_at")} == {
        k: v for k, v in placed.items() if k not in ("status", "confirmed_at")
    }


def test_someone_elses_order_is_404(api: Api, customer: Customer) -> None:
    product = api.create_product()
    order = api.place_order(customer, [(product["id"], 1)], expect=201).json()
    stranger = api.new_customer()
    assert_problem(api.http.get(f"/api/v1/orders/{order['id']}", headers=stranger.auth), 404)
    assert_problem(api.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=stranger.auth), 404)
    assert_problem(api.http.get("/api/v1/orders/2147483647", headers=customer.auth), 404)


def test_cancelling_restores_stock(api: Api, customer: Customer) -> None:
    a = api.create_product(stock=10)
    b = api.create_product(stock=10)
    order = api.place_order(customer, [(a["id"], 4), (b["id"], 1)], expect=201).json()
    assert (api.stock(a["id"]), api.stock(b["id"])) == (6, 9)
    response = api.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.auth)
    assert response.status_code == 200
    cancelled = response.json()
    assert set(cancelled) == ORDER_MEMBERS
    assert cancelled["status"] == "cancelled"
    assert (api.stock(a["id"]), api.stock(b["id"])) == (10, 10)
    reread = api.http.get(f"/api/v1/orders/{order['id']}", headers=customer.auth).json()
    assert reread["status"] == "cancelled"


def test_a_confirmed_order_can_be_cancelled(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=3)
    order = api.place_order(customer, [(product["id"], 3)], expect=201).json()
    assert api.wait_until_confirmed(customer, order["id"])["status"] == "confirmed"
    response = api.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.auth)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert api.stock(product["id"]) == 3


def test_cancelling_twice_is_409_and_restores_once(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=5)
    order = api.place_order(customer, [(product["id"], 2)], expect=201).json()
    assert api.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.auth).status_code == 200
    again = api.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.auth)
    assert_problem(again, 409, "order-not-cancellable")
    assert api.stock(product["id"]) == 5
