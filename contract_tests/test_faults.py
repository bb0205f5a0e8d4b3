"""Faults the apps must answer quickly and honestly: ``503 service-unavailable`` with ``Retry-After``, never
a 500 or a hang, and nothing written.

The database unreachable, a row locked by another transaction, every pooled connection in use, every
password-hashing slot busy. Faults that need control of the database's processes (a restart, a freeze, a
killed worker) are in ``make chaos`` (``chaos/``), on the local stack.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import port_for
import psycopg
import pytest
from argon2 import PasswordHasher

from contract_tests.client import PASSWORD, Api, Customer, assert_problem
from contract_tests.concurrently import Request, run_together
from contract_tests.conformance import checked_client
from contract_tests.stacks import Deployment

# the apps' defaults (shared/config.py), which every stack runs with
LOCK_TIMEOUT_SECONDS = 2
CONNECT_TIMEOUT_SECONDS = 3
READINESS_TIMEOUT_SECONDS = 2
MARGIN_SECONDS = 2  # scheduling on a busy 2-core machine: the bound is what matters, not the speed
HASH_QUEUE_SECONDS = 1  # how long a login waits for a hashing slot before its 503 (shared/unavailable.py)
SLOW_CHECK_SECONDS = 3 * HASH_QUEUE_SECONDS  # how long each login holds its slot here (slow_password_hash)

FAKE_AUTH = {"Authorization": "Bearer not-a-token-the-database-is-asked-about"}
USER = {"email": "x@example.com", "password": PASSWORD, "full_name": "X"}
PRODUCT = {"sku": "X-1", "name": "X", "price_cents": 1, "stock": 1}
ORDER = {"items": [{"product_id": 1, "quantity": 1}]}
# every operation that reads or writes the database, as (method, path, keyword arguments for httpx)
DATABASE_OPERATIONS: list[tuple[str, str, dict[str, object]]] = [
    ("POST", "/api/v1/auth/register", {"json": USER}),
    ("POST", "/api/v1/auth/token", {"data": {"username": "x@example.com", "password": PASSWORD}}),
    ("POST", "/api/v1/auth/logout", {"headers": FAKE_AUTH}),
    ("GET", "/api/v1/users/me", {"headers": FAKE_AUTH}),
    ("GET", "/api/v1/products", {}),
    ("POST", "/api/v1/products", {"headers": FAKE_AUTH, "json": PRODUCT}),
    ("GET", "/api/v1/products/1", {}),
    ("PATCH", "/api/v1/products/1", {"headers": FAKE_AUTH, "json": {"stock": 1}}),
    ("POST", "/api/v1/orders", {"headers": FAKE_AUTH, "json": ORDER}),
    ("GET", "/api/v1/orders", {"headers": FAKE_AUTH}),
    ("GET", "/api/v1/orders/1", {"headers": FAKE_AUTH}),
    ("POST", "/api/v1/orders/1/cancel", {"headers": FAKE_AUTH}),
]  # fmt: skip


def assert_unavailable(response: httpx.Response) -> str:
    """Assert a 503 ``service-unavailable`` problem with a ``Retry-After`` in seconds; returns its detail."""
    problem = assert_problem(response, 503, "service-unavailable")
    assert response.headers.get("Retry-After", "").isdigit(), response.headers
    detail: str = problem["detail"]
    return detail


@contextmanager
def row_locked(database_url: str, product_id: int) -> Iterator[None]:
    """Hold ``FOR UPDATE`` on a product's row from another transaction, as a long-running one would."""
    with psycopg.connect(database_url) as locker:
        locker.execute("SELECT id FROM products WHERE id = %s FOR UPDATE", (product_id,))
        yield
        locker.rollback()


def timed(send: httpx.Client, method: str, path: str, **kwargs: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send.request(method, path, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


def test_every_operation_answers_503_while_the_database_is_unreachable(
    app: str, deployment: Deployment
) -> None:
    if deployment.start_variant is None:
        pytest.skip("this stack cannot start an app against an unreachable database")
    closed_port = port_for.select_random()  # nothing listens here
    database_url = f"postgresql://shop@127.0.0.1:{closed_port}/shop"
    with (
        deployment.start_variant(app, {"DATABASE_URL": database_url}) as url,
        checked_client(url) as http,
    ):
        for method, path, kwargs in DATABASE_OPERATIONS:
            response, seconds = timed(http, method, path, **kwargs)
            assert assert_unavailable(response) == "The database cannot be reached.", (method, path)
            assert seconds < CONNECT_TIMEOUT_SECONDS + MARGIN_SECONDS, (method, path, seconds)
        ready, seconds = timed(http, "GET", "/readyz")
        assert_problem(ready, 503)
        assert seconds < READINESS_TIMEOUT_SECONDS + MARGIN_SECONDS
        assert http.get("/healthz").status_code == 200


def test_a_locked_row_gets_a_quick_503_and_changes_nothing(
    api: Api, customer: Customer, database_url: str
) -> None:
    locked = api.create_product(stock=5)
    other = api.create_product(stock=5)
    with row_locked(database_url, locked["id"]):
        patched, seconds = timed(
            api.http, "PATCH", f"/api/v1/products/{locked['id']}", json={"stock": 1}, headers=api.admin
        )
        assert assert_unavailable(patched) == "A row this request needs is locked by another transaction."
        assert LOCK_TIMEOUT_SECONDS - 0.5 < seconds < LOCK_TIMEOUT_SECONDS + MARGIN_SECONDS

        both = [(locked["id"], 1), (other["id"], 1)]
        assert_unavailable(api.place_order(customer, both, expect=503))
        # what the lock does not touch is served meanwhile, and reads never wait for it
        api.place_order(customer, [(other["id"], 1)], expect=201)
        read, seconds = timed(api.http, "GET", f"/api/v1/products/{locked['id']}")
        assert read.status_code == 200
        assert seconds < 1 + MARGIN_SECONDS

    assert api.stock(locked["id"]) == 5
    assert api.stock(other["id"]) == 4
    assert api.order_count(customer) == 1
    api.set_stock(locked["id"], 1)  # and the row is writable again once the lock is gone
    assert api.stock(locked["id"]) == 1


def test_requests_that_find_every_pooled_connection_busy_get_a_quick_503(
    app: str, api: Api, deployment: Deployment, database_url: str
) -> None:
    if deployment.start_variant is None:
        pytest.skip("this stack cannot start an app with other settings")
    product = api.create_product()
    one_connection = {
        "SHOP_DB_POOL_SIZE": "1",
        "SHOP_DB_MAX_OVERFLOW": "0",
        "SHOP_DB_POOL_TIMEOUT_SECONDS": "1",
    }
    admin = api.admin
    with deployment.start_variant(app, one_connection) as url, row_locked(database_url, product["id"]):
        # each process's one connection waits on the lock; the other requests wait for a connection
        patch = lambda http: http.patch(f"/api/v1/products/{product['id']}", json={"stock": 3}, headers=admin)  # noqa: E731
        started = time.monotonic()
        responses = run_together(url, [patch] * 6)
        seconds = time.monotonic() - started
    details = [assert_unavailable(response) for response in responses]
    assert "Every database connection is in use." in details, details
    assert seconds < LOCK_TIMEOUT_SECONDS + MARGIN_SECONDS + 1
    assert api.stock(product["id"]) == 10


@functools.cache  # once a session, and only where a test gets that far
def slow_password_hash() -> str:
    """An argon2id hash of ``PASSWORD`` whose check takes ``SLOW_CHECK_SECONDS`` or more on this machine.

    argon2 reads its cost from the stored hash, so a user with this hash holds a hashing slot that long at
    every login, on any machine (the cost is measured here, and the stacks that start variants run the apps
    here too), with no setting in the apps. One lane (``parallelism=1``): a check then runs on one core in
    the apps as here, however many are free.
    """
    time_cost = 8  # a first measurement long enough to extrapolate from
    while True:
        hasher = PasswordHasher(time_cost=time_cost, parallelism=1)
        started = time.monotonic()
        password_hash = hasher.hash(PASSWORD)
        seconds = time.monotonic() - started
        if seconds >= SLOW_CHECK_SECONDS:
            return password_hash
        # the time grows linearly with time_cost; aim a quarter higher, so that one more round is rare
        time_cost = max(2 * time_cost, math.ceil(1.25 * time_cost * SLOW_CHECK_SECONDS / seconds))


def test_logins_beyond_the_hashing_slots_get_a_quick_503(
    app: str, customer: Customer, deployment: Deployment, database_url: str
) -> None:
    """One hashing slot per process, and every check holds it three times longer than a login may wait for
    it (``HASH_QUEUE_SECONDS``, 1 s), so of logins sent together, whichever comes second to a process (there
    are more logins than any stack's processes) is refused with a 503 after waiting its second, whatever the
    machine's speed."""
    if deployment.start_variant is None or not deployment.trusts_forwarded_for:
        pytest.skip("this stack cannot start an app with other settings, or log in from several addresses")
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "UPDATE users SET password_hash = %s WHERE id = %s", (slow_password_hash(), customer.id)
        )

    def login_from(address: str) -> Request:
        # each from its own address: logins to one account from one address take turns
        # (shared/domain/logins.py)
        form = {"username": customer.email, "password": PASSWORD}
        return lambda http: http.post("/api/v1/auth/token", data=form, headers={"X-Forwarded-For": address})

    one_slow_slot = {
        "SHOP_PASSWORD_HASH_CONCURRENCY": "1",
        # a login holds its transaction open while its password is checked: no idle timeout for the checks
        "SHOP_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": "0",
    }
    with deployment.start_variant(app, one_slow_slot) as url:
        responses = run_together(url, [login_from(f"2001:db8::{n + 1:x}") for n in range(24)])
    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) == {200, 503}, statuses  # some served, the rest refused, nothing else
    for response in responses:
        if response.status_code == 503:
            assert assert_unavailable(response) == "Too many password checks are in progress."
