"""The README's "Walk through an order", step by step, as a newcomer runs it against a fresh deployment.

``make smoke`` runs this module alone against ``docker compose`` (``--stack url``); every other stack runs
it with the rest. It uses the seeded catalog, as the README does, and gives back the stock it takes.
"""

from __future__ import annotations

from contract_tests.client import PASSWORD, Api, Customer, unique


def test_the_readme_walkthrough(api: Api) -> None:
    email = unique("ada-") + "@example.com"
    registered = api.http.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Ada Lovelace"}
    )
    assert registered.status_code == 201, registered.text
    issued = api.http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert issued.status_code == 200, issued.text
    ada = Customer(registered.json()["id"], email, PASSWORD, issued.json()["access_token"])
    auth = ada.auth

    found = api.http.get("/api/v1/products", params={"q": "beans", "limit": 2})
    assert found.status_code == 200, found.text
    beans = found.json()["items"]
    assert len(beans) == 2
    assert all("beans" in product["name"].lower() for product in beans)
    product = beans[0]

    order_request = {"items": [{"product_id": product["id"], "quantity": 2}]}
    key = {"Idempotency-Key": unique("walkthrough-")}
    placed = api.http.post("/api/v1/orders", json=order_request, headers=auth | key)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert placed.headers["Location"] == f"/api/v1/orders/{order['id']}"
    assert order["status"] == "pending"
    assert order["total_cents"] == 2 * product["price_cents"]
    assert api.stock(product["id"]) == product["stock"] - 2

    replayed = api.http.post("/api/v1/orders", json=order_request, headers=auth | key)
    assert replayed.status_code == 201, replayed.text
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == order["id"]

    api.wait_until_confirmed(ada, order["id"])  # "a moment later the confirmation is sent"
    listed = api.http.get("/api/v1/orders", headers=auth)
    assert listed.status_code == 200, listed.text
    assert [(o["id"], o["status"]) for o in listed.json()["items"]] == [(order["id"], "confirmed")]

    cancelled = api.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert api.stock(product["id"]) == product["stock"]
