"""The live order socket, ``/api/v1/orders/{order_id}/events`` (:mod:`shared.http.sockets`, docs/api.md): who
may watch, what they are sent and in which order, and how the server ends a socket.

Every status change reaches the socket from PostgreSQL (``NOTIFY`` at the change's commit), whichever
process made it: the app, the other app, or the test itself.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine

from contract_tests.client import Api, Customer
from contract_tests.sockets import (
    RECEIVE_SECONDS,
    close_of,
    first_answer,
    next_message,
    pending_order,
    watching,
)
from contract_tests.stacks import Deployment
from shared.config import Settings
from shared.db import statements
from shared.domain.order_events import LISTENER_APPLICATION_NAME
from shared.http.sockets import AUTH_TIMEOUT_SECONDS, MAX_FIRST_MESSAGE_BYTES, Close

QUIET_SECONDS = 1.0  # how long a socket is watched for a message that must not come
UNKNOWN_ORDER_ID = 2_000_000_000  # a valid id no order has


def cancel(api: Api, customer: Customer, order_id: int) -> None:
    cancelled = api.http.post(f"/api/v1/orders/{order_id}/cancel", headers=customer.auth)
    assert cancelled.status_code == 200, cancelled.text


def order_now(api: Api, customer: Customer, order_id: int) -> dict[str, Any]:
    found = api.http.get(f"/api/v1/orders/{order_id}", headers=customer.auth)
    assert found.status_code == 200, found.text
    order: dict[str, Any] = found.json()
    return order


def confirmed_order(api: Api, customer: Customer) -> int:
    product = api.create_product(stock=1)
    placed = api.place_order(customer, [(product["id"], 1)], expect=201).json()
    api.wait_until_confirmed(customer, placed["id"])
    order_id: int = placed["id"]
    return order_id


def assert_no_message(socket: Any) -> None:
    with pytest.raises(TimeoutError):
        socket.recv(timeout=QUIET_SECONDS)


# --- what a watcher is sent ---------------------------------------------------------------------------------


def test_the_current_state_then_each_change_in_order(
    api: Api, customer: Customer, database_url: str, deployment: Deployment
) -> None:
    with contextlib.ExitStack() as stack:
        with pending_order(api, customer, database_url) as order_id:
            socket = stack.enter_context(watching(api.base_url, order_id, headers=customer.auth))
            first = next_message(socket)
            created_at = order_now(api, customer, order_id)["created_at"]
            assert first == {"order_id": order_id, "status": "pending", "changed_at": created_at}
        # the lock is released: the confirmation commits, at once or, if it gave up waiting for the lock
        # (lock_timeout), at the outbox relay's next round
        confirmed = next_message(socket, timeout=deployment.relay_seconds + RECEIVE_SECONDS)
        assert confirmed["status"] == "confirmed"
        assert confirmed["changed_at"] == order_now(api, customer, order_id)["confirmed_at"]
        cancel(api, customer, order_id)
        cancelled = next_message(socket)
        assert cancelled["status"] == "cancelled"
        assert cancelled["changed_at"] > confirmed["changed_at"]  # the API has no cancelled_at to compare
        assert close_of(socket) == (Close.FINAL, Close.FINAL.reason)


def test_a_browser_sends_its_token_as_the_first_message(api: Api, customer: Customer) -> None:
    order_id = confirmed_order(api, customer)
    with watching(api.base_url, order_id, token=customer.token) as socket:
        state = next_message(socket)
        assert state == {
            "order_id": order_id,
            "status": "confirmed",
            "changed_at": order_now(api, customer, order_id)["confirmed_at"],
        }
        cancel(api, customer, order_id)
        assert next_message(socket)["status"] == "cancelled"
        assert close_of(socket)[0] == Close.FINAL


def test_a_cancelled_order_is_sent_once_and_closed(api: Api, customer: Customer) -> None:
    order_id = confirmed_order(api, customer)
    cancel(api, customer, order_id)
    with watching(api.base_url, order_id, headers=customer.auth) as socket:
        assert next_message(socket)["status"] == "cancelled"
        assert close_of(socket) == (Close.FINAL, Close.FINAL.reason)


def test_a_change_on_one_app_reaches_a_watcher_on_the_other(
    first_and_second: tuple[Api, Api], customer: Customer
) -> None:
    placed_on, watched_on = first_and_second
    order_id = confirmed_order(placed_on, customer)
    with watching(watched_on.base_url, order_id, headers=customer.auth) as socket:
        assert next_message(socket)["status"] == "confirmed"
        cancel(placed_on, customer, order_id)
        assert next_message(socket)["status"] == "cancelled"


def test_a_rolled_back_change_sends_nothing(api: Api, customer: Customer, database_url: str) -> None:
    order_id = confirmed_order(api, customer)
    engine = create_engine(Settings(database_url=database_url).url_for_driver("psycopg"))
    with watching(api.base_url, order_id, headers=customer.auth) as socket:
        assert next_message(socket)["status"] == "confirmed"
        with engine.connect() as connection:  # a cancel and its NOTIFY, the apps' statements, rolled back
            connection.execute(statements.mark_cancelled(order_id))
            connection.execute(statements.notify_order_status(order_id))
            connection.rollback()
        engine.dispose()
        assert_no_message(socket)
        cancel(api, customer, order_id)
        assert next_message(socket)["status"] == "cancelled"


def test_the_listener_reconnects_and_sends_the_state_again(
    api: Api, customer: Customer, database_url: str
) -> None:
    order_id = confirmed_order(api, customer)
    with watching(api.base_url, order_id, headers=customer.auth) as socket:
        state = next_message(socket)
        with psycopg.connect(database_url, autocommit=True) as connection:
            killed = connection.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                (LISTENER_APPLICATION_NAME,),
            ).fetchone()
        assert killed == (1,) or (killed is not None and killed[0] > 1)  # each app process's one listener
        assert next_message(socket) == state  # the listener is back: the state again
        cancel(api, customer, order_id)
        assert next_message(socket)["status"] == "cancelled"


# --- who may watch ------------------------------------------------------------------------------------------


def test_no_token_within_five_seconds_is_closed_with_4408(api: Api, customer: Customer) -> None:
    order_id = confirmed_order(api, customer)
    started = time.monotonic()
    with watching(api.base_url, order_id) as socket:
        assert close_of(socket, timeout=AUTH_TIMEOUT_SECONDS + 5) == (
            Close.TOKEN_TIMEOUT,
            Close.TOKEN_TIMEOUT.reason,
        )
    assert time.monotonic() - started >= AUTH_TIMEOUT_SECONDS - 0.5


@pytest.mark.parametrize(
    ("headers", "first_message"),
    [
        ({"Authorization": "Bearer not-a-token-anyone-was-given"}, None),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, None),
        (None, '{"token": "not-a-token-anyone-was-given"}'),
        (None, '{"access_token": "x"}'),
        (None, "not json"),
        (None, b'{"token": "x"}'),
    ],
    ids=[
        "unknown-header-token",
        "basic-scheme",
        "unknown-message-token",
        "other-field",
        "not-json",
        "binary",
    ],
)
def test_a_bad_token_is_closed_with_4401_before_any_state(
    api: Api, customer: Customer, headers: dict[str, str] | None, first_message: str | bytes | None
) -> None:
    order_id = confirmed_order(api, customer)
    with watching(api.base_url, order_id, headers=headers) as socket:
        if first_message is not None:
            socket.send(first_message)
        assert close_of(socket) == (Close.UNAUTHORIZED, Close.UNAUTHORIZED.reason)


def test_a_plain_request_to_the_socket_is_426_upgrade_required(api: Api, customer: Customer) -> None:
    order_id = confirmed_order(api, customer)
    with httpx.Client(base_url=api.base_url, timeout=10) as http:  # no OpenAPI operation to check it against
        answered = http.get(f"/api/v1/orders/{order_id}/events", headers=customer.auth)
    assert answered.status_code == 426, answered.text
    assert answered.headers["Content-Type"] == "application/problem+json"
    assert answered.headers["Upgrade"] == "websocket"
    assert answered.json()["status"] == 426


def test_a_message_after_the_token_is_closed_with_4400(api: Api, customer: Customer) -> None:
    order_id = confirmed_order(api, customer)
    with watching(api.base_url, order_id, headers=customer.auth) as socket:
        assert next_message(socket)["status"] == "confirmed"
        socket.send(json.dumps({"hello": "server"}))
        assert close_of(socket) == (Close.UNEXPECTED_MESSAGE, Close.UNEXPECTED_MESSAGE.reason)


def test_a_message_over_4_kib_is_closed_with_1009(api: Api, customer: Customer) -> None:
    order_id = confirmed_order(api, customer)
    with watching(api.base_url, order_id) as socket:
        socket.send(json.dumps({"token": "x" * MAX_FIRST_MESSAGE_BYTES}))
        code, _ = close_of(socket)
    assert code == 1009  # message too big (RFC 6455 §7.4.1), from each server's WebSocket library


def test_a_revoked_token_is_closed_with_4401(api: Api) -> None:
    customer = api.new_customer()
    order_id = confirmed_order(api, customer)
    logout = api.http.post("/api/v1/auth/logout", headers=customer.auth)
    assert logout.status_code == 204, logout.text
    with watching(api.base_url, order_id, headers=customer.auth) as socket:
        assert close_of(socket)[0] == Close.UNAUTHORIZED


@pytest.mark.parametrize("order", ["someone-elses", "unknown", "not-an-id", "too-large"])
def test_an_order_not_the_callers_is_closed_with_4404_alike(api: Api, customer: Customer, order: str) -> None:
    """Another user's order and an order that does not exist are the same refusal, so a socket cannot tell
    whether someone else's order exists."""
    ids: dict[str, int | str] = {"unknown": UNKNOWN_ORDER_ID, "not-an-id": "abc", "too-large": "9" * 20}
    order_id = confirmed_order(api, api.new_customer()) if order == "someone-elses" else ids[order]
    with watching(api.base_url, order_id, headers=customer.auth) as socket:
        assert close_of(socket) == (Close.NOT_FOUND, Close.NOT_FOUND.reason)


# --- bounds -------------------------------------------------------------------------------------------------


WORKERS = {"fastapi": 1, "flask": 2}  # the server processes the stacks start (contract_tests/stacks)
SERVERS = {
    "threads": {},  # each app's own: uvicorn's event loop; gunicorn's threaded workers
    "gevent": {"GUNICORN_WORKER_CLASS": "gevent"},  # the Flask app's socket server in the deployments
}


def variant_on(
    server: str, app: str, deployment: Deployment
) -> Callable[[dict[str, str]], contextlib.AbstractContextManager[str]]:
    """What starts one more instance of ``app`` on ``server``, with more settings; skips what the stack
    cannot start or does not have."""
    start_variant = deployment.start_variant
    if start_variant is None:
        pytest.skip("this stack cannot start an app with other settings")
    if server == "gevent" and app != "flask":
        pytest.skip("gevent workers are gunicorn's: the Flask app's")
    return lambda settings: start_variant(app, {**SERVERS[server], **settings})


@pytest.mark.parametrize("server", SERVERS)
def test_each_worker_holds_at_most_its_limit_and_http_still_answers(
    app: str, server: str, deployment: Deployment, api: Api, customer: Customer
) -> None:
    """Sockets beyond ``SHOP_MAX_SOCKETS_PER_WORKER`` are closed at once with 1013; the sockets held never
    starve the HTTP API: with a worker at its limit (every worker, for uvicorn's one process), ``/healthz``
    and a product read answer within 100 ms."""
    start_variant = variant_on(server, app, deployment)
    limit = 2
    workers = WORKERS[app]
    order_id = confirmed_order(api, customer)
    product = api.create_product()
    with (
        start_variant({"SHOP_MAX_SOCKETS_PER_WORKER": str(limit)}) as url,
        contextlib.ExitStack() as stack,
    ):
        answers = [
            first_answer(stack.enter_context(watching(url, order_id, headers=customer.auth)))
            for _ in range(limit * workers + 1)
        ]
        held = [answer for answer in answers if isinstance(answer, dict)]
        refused = [answer for answer in answers if not isinstance(answer, dict)]
        # which worker accepts each connection is gunicorn's and the kernel's choice: one may take them all
        assert limit <= len(held) <= limit * workers, answers
        assert set(refused) == {(Close.TRY_AGAIN_LATER, Close.TRY_AGAIN_LATER.reason)}, answers
        with httpx.Client(base_url=url, timeout=5) as http:
            for path in ("/healthz", f"/api/v1/products/{product['id']}"):
                seconds = sorted(_seconds(http, path) for _ in range(5))
                assert seconds[2] < 0.1, f"{path} took {seconds} s with every worker full"  # the median


@pytest.mark.parametrize("server", SERVERS)
def test_a_shutdown_closes_each_socket_with_1001(
    app: str, server: str, deployment: Deployment, api: Api, customer: Customer
) -> None:
    start_variant = variant_on(server, app, deployment)
    order_id = confirmed_order(api, customer)
    with contextlib.ExitStack() as stack:
        with start_variant({}) as url:
            socket = stack.enter_context(watching(url, order_id, headers=customer.auth))
            assert next_message(socket)["status"] == "confirmed"
            started = time.monotonic()
        # the variant has been stopped (SIGTERM) and waited for
        assert close_of(socket, timeout=1) == (Close.GOING_AWAY, Close.GOING_AWAY.reason)
        assert time.monotonic() - started < 20  # within the grace period the deployments give


def test_metrics_count_the_sockets_and_their_messages(
    app: str, api: Api, customer: Customer, deployment: Deployment
) -> None:
    if app in deployment.proxied:
        pytest.skip(f"{app}'s /metrics here is its API server's; its sockets are served, and scraped, apart")
    order_id = confirmed_order(api, customer)
    with watching(api.base_url, order_id, headers=customer.auth) as socket:
        next_message(socket)
        scraped = api.http.get("/metrics").text
        assert _sample(scraped, "shop_websockets_open") >= 1
        assert _sample(scraped, "shop_websocket_messages_sent_total") >= 1


def _sample(exposition: str, name: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


def _seconds(http: httpx.Client, path: str) -> float:
    started = time.monotonic()
    response = http.get(path)
    assert response.status_code == 200, response.text
    return time.monotonic() - started
