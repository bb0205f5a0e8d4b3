"""HTTP helpers that keep the noise out of test bodies: unique users and products, orders, problems."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import pytest

from contract_tests.conformance import Conformance, checked_client
from contract_tests.stacks import Deployment

PROBLEM_TYPE_BASE = "https://shop.example/problems/"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
PASSWORD = "correct horse battery"
CONFIRMATION_TIMEOUT_SECONDS = 10


def unique(prefix: str) -> str:
    """``prefix`` plus 12 random hex digits: names that never collide, even on a long-lived database."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Customer:
    id: int
    email: str
    password: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """A client for one app; ``api.http`` is an ``httpx.Client`` on its base URL, whose every answer must
    conform to the app's OpenAPI document (:mod:`contract_tests.conformance`)."""

    def __init__(self, name: str, deployment: Deployment) -> None:
        self.name = name
        self.deployment = deployment
        self.base_url = deployment.url(name)
        # every answer is checked against the app's OpenAPI document (contract_tests/conformance.py)
        self.conformance = Conformance(self.base_url)
        self.http = checked_client(self.base_url, conformance=self.conformance)
        self._admin_auth: dict[str, str] | None = None

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.http.close()

    # --- accounts ---

    def register(
        self,
        email: str | None = None,
        password: str = PASSWORD,
        full_name: str = "Ada Lovelace",
        *,
        expect: int | None,
    ) -> httpx.Response:
        """``POST /auth/register``; ``expect``: the status it must answer (see :func:`expect_status`)."""
        email = email or unique("user-") + "@example.com"
        body = {"email": email, "password": password, "full_name": full_name}
        return expect_status(self.http.post("/api/v1/auth/register", json=body), expect)

    def token(self, email: str, password: str, *, expect: int | None) -> httpx.Response:
        """``POST /auth/token``; ``expect``: the status it must answer (see :func:`expect_status`)."""
        form = {"username": email, "password": password}
        return expect_status(self.http.post("/api/v1/auth/token", data=form), expect)

    def new_customer(self) -> Customer:
        user = self.register(expect=201).json()
        issued = self.token(user["email"], PASSWORD, expect=200)
        return Customer(user["id"], user["email"], PASSWORD, issued.json()["access_token"])

    @property
    def admin(self) -> dict[str, str]:
        """``Authorization`` header of the deployment's admin."""
        if self._admin_auth is None:
            issued = self.token(self.deployment.admin_email, self.deployment.admin_password, expect=200)
            self._admin_auth = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        return self._admin_auth

    # --- catalog ---

    def create_product(
        self, *, stock: int = 10, price_cents: int = 1250, name: str | None = None
    ) -> dict[str, Any]:
        sku = unique("TEST-").upper()
        created = self.http.post(
            "/api/v1/products",
            json={
                "sku": sku,
                "name": name or f"Contract Widget {sku}",
                "description": "Made by the contract tests.",
                "price_cents": price_cents,
                "stock": stock,
            },
            headers=self.admin,
        )
        assert created.status_code == 201, created.text
        product: dict[str, Any] = created.json()
        return product

    def stock(self, product_id: int) -> int:
        found = self.http.get(f"/api/v1/products/{product_id}")
        assert found.status_code == 200, found.text
        stock: int = found.json()["stock"]
        return stock

    def set_stock(self, product_id: int, stock: int) -> None:
        updated = self.http.patch(f"/api/v1/products/{product_id}", json={"stock": stock}, headers=self.admin)
        assert updated.status_code == 200, updated.text

    # --- orders ---

    def place_order(
        self, customer: Customer, lines: list[tuple[int, int]], *, key: str | None = None, expect: int | None
    ) -> httpx.Response:
        """``POST /orders`` of ``(product_id, quantity)`` lines, with an ``Idempotency-Key`` if ``key`` is
        given; ``expect``: the status it must answer (see :func:`expect_status`)."""
        headers = dict(customer.auth)
        if key is not None:
            headers["Idempotency-Key"] = key
        body = {"items": [{"product_id": p, "quantity": q} for p, q in lines]}
        return expect_status(self.http.post("/api/v1/orders", json=body, headers=headers), expect)

    def wait_until_confirmed(
        self, customer: Customer, order_id: int, timeout: float = CONFIRMATION_TIMEOUT_SECONDS
    ) -> dict[str, Any]:
        """The order once ``confirmed_at`` is set; fails the test if that takes longer than ``timeout``
        seconds, showing the order as last read."""
        started = time.monotonic()
        while True:
            found = self.http.get(f"/api/v1/orders/{order_id}", headers=customer.auth)
            assert found.status_code == 200, found.text
            order: dict[str, Any] = found.json()
            if order["confirmed_at"] is not None:
                return order
            waited = time.monotonic() - started
            if waited > timeout:
                pytest.fail(f"order {order_id} still not confirmed after {waited:.1f} s: {order}")
            time.sleep(0.1)

    def order_count(self, customer: Customer) -> int:
        listed = self.http.get("/api/v1/orders", headers=customer.auth)
        assert listed.status_code == 200, listed.text
        total: int = listed.json()["total"]
        return total


def expect_status(response: httpx.Response, expect: int | None) -> httpx.Response:
    """``response``, once its status is ``expect``: a helper's callers say what they expect, as
    cosmicpython's ``post_to_allocate(..., expect_success=True)`` does, so that no test reads a body it has
    not checked. ``None`` only where the caller must take several statuses (a race) and checks each itself.
    """
    if expect is not None:
        sent = f"{response.request.method} {response.request.url.raw_path.decode()}"
        assert response.status_code == expect, (
            f"{sent}: expected {expect}, got {response.status_code}: {response.text}"
        )
    return response


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem with ``status`` and type ``slug`` (``None``: ``about:blank``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem: dict[str, Any] = response.json()
    assert problem["type"] == (PROBLEM_TYPE_BASE + slug if slug else "about:blank"), problem
    assert problem["status"] == status
    assert isinstance(problem["title"], str)
    assert problem["title"]
    assert isinstance(problem["detail"], str)
    assert problem["detail"]
    return problem


def assert_invalid(response: httpx.Response, **where: str) -> dict[str, Any]:
    """Assert a 422 ``validation-error`` whose every error names ``pointer=...``, ``parameter=...`` or
    ``header=...`` (one invalid member is one place, however many rules its value broke)."""
    problem = assert_problem(response, 422, "validation-error")
    ((kind, value),) = where.items()
    assert {error.get(kind) for error in problem["errors"]} == {value}, problem["errors"]
    for error in problem["errors"]:
        assert isinstance(error["detail"], str)
        assert error["detail"]
    return problem
