"""Stock under concurrency: no overselling, and no deadlocks when orders lock the same rows."""

from __future__ import annotations

from contract_tests.client import Api, Customer, assert_problem
from contract_tests.concurrently import Request, run_together

RACERS = 24


def test_racing_for_the_last_units_never_oversells(api: Api) -> None:
    stock = 5
    product = api.create_product(stock=stock)
    customers = [api.new_customer() for _ in range(RACERS)]

    def buyer(customer: Customer) -> Request:
        body = {"items": [{"product_id": product["id"], "quantity": 1}]}
        return lambda client: client.post("/api/v1/orders", json=body, headers=customer.auth)

    responses = run_together(api.base_url, [buyer(c) for c in customers])
    created = [r for r in responses if r.status_code == 201]
    assert len(created) == stock, [r.status_code for r in responses]
    for response in responses:
        if response.status_code != 201:
            problem = assert_problem(response, 409, "insufficient-stock")
            assert problem["available"] == 0 or problem["available"] < problem["requested"]
    assert sum(r.json()["items"][0]["quantity"] for r in created) == stock
    assert api.stock(product["id"]) == 0


def test_racing_multi_unit_orders_take_exactly_what_they_report(api: Api) -> None:
    stock = 17
    product = api.create_product(stock=stock)
    customers = [api.new_customer() for _ in range(RACERS)]
    quantities = [1 + i % 3 for i in range(RACERS)]  # 48 units asked for, 17 available

    def buyer(customer: Customer, quantity: int) -> Request:
        body = {"items": [{"product_id": product["id"], "quantity": quantity}]}
        return lambda client: client.post("/api/v1/orders", json=body, headers=customer.auth)

    responses = run_together(api.base_url, [buyer(c, q) for c, q in zip(customers, quantities, strict=True)])
    sold = sum(r.json()["items"][0]["quantity"] for r in responses if r.status_code == 201)
    assert all(r.status_code in (201, 409) for r in responses), [r.text for r in responses]
    remaining = api.stock(product["id"])
    assert remaining >= 0
    assert sold + remaining == stock
    assert remaining < 3  # every refusal saw too little stock; what is left cannot fill every size asked


def test_opposite_line_orders_never_deadlock(api: Api) -> None:
    """Two orders locking the same two products in opposite line order, concurrently, many times."""
    first = api.create_product(stock=1000)
    second = api.create_product(stock=1000)
    customers = [api.new_customer() for _ in range(8)]
    rounds = 6

    def buyer(customer: Customer, flip: bool) -> Request:
        lines = [(first["id"], 1), (second["id"], 1)]
        body = {"items": [{"product_id": p, "quantity": q} for p, q in (lines[::-1] if flip else lines)]}
        return lambda client: client.post("/api/v1/orders", json=body, headers=customer.auth)

    statuses = []
    for _ in range(rounds):
        buyers = [buyer(c, flip=i % 2 == 1) for i, c in enumerate(customers)]
        statuses += [r.status_code for r in run_together(api.base_url, buyers)]
    assert statuses == [201] * (rounds * len(customers))
    assert api.stock(first["id"]) == api.stock(second["id"]) == 1000 - rounds * len(customers)
