"""Catalog: public browsing and search; admin-only create and partial update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from contract_tests.client import TIMESTAMP, Api, Customer, assert_invalid, assert_problem, unique

PRODUCT_MEMBERS = {"id", "sku", "name", "description", "price_cents", "currency", "stock", "created_at"}


def test_products_page_has_the_default_shape(api: Api) -> None:
    response = api.http.get("/api/v1/products")
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "total", "limit", "offset"}
    assert (page["limit"], page["offset"]) == (20, 0)
    assert page["total"] >= 40  # the seeded catalog
    assert len(page["items"]) == 20
    ids = [item["id"] for item in page["items"]]
    assert ids == sorted(ids)
    for item in page["items"]:
        assert set(item) == PRODUCT_MEMBERS
        assert item["currency"] == "USD"
        assert isinstance(item["price_cents"], int)
        assert TIMESTAMP.match(item["created_at"])


def test_pages_follow_each_other_by_id(api: Api) -> None:
    whole = api.http.get("/api/v1/products", params={"limit": 10}).json()["items"]
    first = api.http.get("/api/v1/products", params={"limit": 5, "offset": 0}).json()
    second = api.http.get("/api/v1/products", params={"limit": 5, "offset": 5}).json()
    assert (first["limit"], second["offset"]) == (5, 5)
    assert first["items"] + second["items"] == whole


def test_limit_is_at_most_100(api: Api) -> None:
    page = api.http.get("/api/v1/products", params={"limit": 100}).json()
    assert page["limit"] == 100
    assert len(page["items"]) == min(100, page["total"])


@pytest.mark.parametrize(
    "query",
    [str.lower, str.upper, lambda word: f"made {word}"],
    ids=["lower-case", "upper-case", "substring-across-words"],
)
def test_search_matches_names_case_insensitively(api: Api, query: Callable[[str], str]) -> None:
    """``query`` makes the search query from the unique word in the product's name."""
    word = unique("Zyx")
    product = api.create_product(name=f"Handmade {word} Teapot")
    page = api.http.get("/api/v1/products", params={"q": query(word)}).json()
    assert [item["id"] for item in page["items"]] == [product["id"]]
    assert page["total"] == 1


def test_search_treats_wildcards_literally(api: Api) -> None:
    word = unique("pct")
    percent = api.create_product(name=f"{word} 100% Wool")
    api.create_product(name=f"{word} 1000 Wool")
    page = api.http.get("/api/v1/products", params={"q": f"{word} 100%"}).json()
    assert [item["id"] for item in page["items"]] == [percent["id"]]


def test_a_product_is_read_by_id(api: Api) -> None:
    product = api.create_product(stock=7, price_cents=4321)
    response = api.http.get(f"/api/v1/products/{product['id']}")
    assert response.status_code == 200
    assert response.json() == product
    assert (product["stock"], product["price_cents"], product["currency"]) == (7, 4321, "USD")


def test_an_unknown_product_is_404(api: Api) -> None:
    assert_problem(api.http.get("/api/v1/products/2147483647"), 404)


def test_admin_creates_a_product_with_location(api: Api) -> None:
    sku = unique("NEW-").upper()
    body = {"sku": sku, "name": "Walnut Tray", "description": "Oiled.", "price_cents": 2599, "stock": 3}
    response = api.http.post("/api/v1/products", json=body, headers=api.admin)
    assert response.status_code == 201
    product = response.json()
    assert set(product) == PRODUCT_MEMBERS
    assert {k: product[k] for k in body} == body
    assert response.headers["Location"] == f"/api/v1/products/{product['id']}"
    assert api.http.get(response.headers["Location"]).json() == product


def test_description_defaults_to_empty(api: Api) -> None:
    body = {"sku": unique("NODESC-").upper(), "name": "Plain", "price_cents": 100, "stock": 1}
    response = api.http.post("/api/v1/products", json=body, headers=api.admin)
    assert response.status_code == 201
    assert response.json()["description"] == ""


def test_creating_products_needs_an_admin(api: Api, customer: Customer) -> None:
    body = {"sku": unique("NOPE-").upper(), "name": "Nope", "price_cents": 100, "stock": 1}
    assert_problem(api.http.post("/api/v1/products", json=body, headers=customer.auth), 403)
    unauthenticated = api.http.post("/api/v1/products", json=body)
    assert_problem(unauthenticated, 401)
    assert unauthenticated.headers["WWW-Authenticate"] == "Bearer"


def test_a_duplicate_sku_is_409(api: Api) -> None:
    product = api.create_product()
    body = {"sku": product["sku"], "name": "Copy", "price_cents": 100, "stock": 1}
    assert_problem(api.http.post("/api/v1/products", json=body, headers=api.admin), 409, "sku-taken")


@pytest.mark.parametrize(
    ("pointer", "bad"),
    [
        ("/sku", {"sku": "lower-case"}),
        ("/name", {"name": ""}),
        ("/price_cents", {"price_cents": "100"}),
        ("/stock", {"stock": -1}),
    ],
    ids=["lower-case-sku", "empty-name", "price-as-string", "negative-stock"],
)
def test_product_members_are_validated(api: Api, pointer: str, bad: dict[str, Any]) -> None:
    """``bad`` replaces one member of an otherwise valid body; the error points at it."""
    body = {"sku": unique("VAL-").upper(), "name": "Valid", "price_cents": 100, "stock": 1, **bad}
    assert_invalid(api.http.post("/api/v1/products", json=body, headers=api.admin), pointer=pointer)


def test_patch_changes_only_the_given_members(api: Api) -> None:
    product = api.create_product(stock=5, price_cents=1000)
    response = api.http.patch(
        f"/api/v1/products/{product['id']}", json={"price_cents": 1500, "stock": 9}, headers=api.admin
    )
    assert response.status_code == 200
    assert response.json() == {**product, "price_cents": 1500, "stock": 9}
    assert api.http.get(f"/api/v1/products/{product['id']}").json() == response.json()


def test_patch_with_no_members_changes_nothing(api: Api) -> None:
    product = api.create_product()
    response = api.http.patch(f"/api/v1/products/{product['id']}", json={}, headers=api.admin)
    assert response.status_code == 200
    assert response.json() == product


def test_patch_refuses_null_and_unknown_members(api: Api) -> None:
    product = api.create_product()
    url = f"/api/v1/products/{product['id']}"
    assert_invalid(api.http.patch(url, json={"name": None}, headers=api.admin), pointer="/name")
    assert_invalid(api.http.patch(url, json={"sku": "NEW-SKU"}, headers=api.admin), pointer="/sku")
    assert api.http.get(url).json() == product


def test_patch_needs_an_admin_and_an_existing_product(api: Api, customer: Customer) -> None:
    product = api.create_product()
    url = f"/api/v1/products/{product['id']}"
    assert_problem(api.http.patch(url, json={"stock": 1}, headers=customer.auth), 403)
    assert_problem(api.http.patch("/api/v1/products/2147483647", json={"stock": 1}, headers=api.admin), 404)
