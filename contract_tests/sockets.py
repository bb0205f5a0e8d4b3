"""A client of the live order socket, ``/api/v1/orders/{order_id}/events`` (:mod:`shared.http.sockets`), for
the contract tests: the websockets library's synchronous client, which reads the server's frames (and answers
its pings) in a thread of its own."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from contract_tests.client import Api, Customer
from shared.domain.order_events import CHANNEL, OrderEvent
from shared.domain.order_status import OrderStatus

RECEIVE_SECONDS = 10.0  # for one message; the confirmation after a commit included


def events_url(base_url: str, order_id: int | str) -> str:
    """The socket's ``ws://`` (or ``wss://``) URL on an app's base URL."""
    return f"{base_url.replace('http', 'ws', 1)}/api/v1/orders/{order_id}/events"


@contextlib.contextmanager
def watching(
    base_url: str, order_id: int | str, *, headers: dict[str, str] | None = None, token: str | None = None
) -> Iterator[ClientConnection]:
    """An open socket on the order: authenticated by ``headers`` (``Authorization``) or by the first message
    ``{"token": token}``, or neither when both are ``None``."""
    with connect(events_url(base_url, order_id), additional_headers=headers, open_timeout=10) as socket:
        if token is not None:
            socket.send(json.dumps({"token": token}))
        yield socket


def next_message(socket: ClientConnection, timeout: float = RECEIVE_SECONDS) -> dict[str, Any]:
    """The next message, parsed; fails the test if none comes within ``timeout`` seconds."""
    message = socket.recv(timeout=timeout)
    assert isinstance(message, str), message
    parsed: dict[str, Any] = json.loads(message)
    assert set(parsed) == {"order_id", "status", "changed_at"}, parsed
    return parsed


def close_of(socket: ClientConnection, timeout: float = RECEIVE_SECONDS) -> tuple[int, str]:
    """The code and reason the server closed ``socket`` with; fails the test if it sends a message first
    or does not close within ``timeout`` seconds."""
    try:
        message = socket.recv(timeout=timeout)
    except ConnectionClosed as closed:
        return _close_frame(closed)
    raise AssertionError(f"a message where a close was expected: {message!r}")


def first_answer(socket: ClientConnection) -> dict[str, Any] | tuple[int, str]:
    """The first message, or the close code and reason if the server closed the socket instead."""
    try:
        return next_message(socket)
    except ConnectionClosed as closed:
        return _close_frame(closed)


def _close_frame(closed: ConnectionClosed) -> tuple[int, str]:
    if closed.rcvd is None:
        raise AssertionError(f"the connection ended without a close frame: {closed}")
    return closed.rcvd.code, closed.rcvd.reason


@contextlib.contextmanager
def pending_order(api: Api, customer: Customer, database_url: str, attempts: int = 10) -> Iterator[int]:
    """An order of ``customer``'s kept ``pending`` for the block: its confirmation waits on the order's row,
    which the test locks (``FOR UPDATE``) the moment PostgreSQL announces the new order, while the app is
    still answering its ``POST``. The app confirms right after its 201, so the lock can come too late: then
    another order is tried; on the url stack, where the test reaches the database through more hops than the
    apps (Docker's port forwarding), the test is skipped when every try came too late. After the block the
    confirmation goes through (at once, or from the outbox relay if it gave up waiting for the lock)."""
    product = api.create_product(stock=attempts)
    with (
        psycopg.connect(database_url, autocommit=True) as listener,
        psycopg.connect(database_url) as locker,
        ThreadPoolExecutor(1) as placer,
    ):
        listener.execute(f"LISTEN {CHANNEL}")
        for _ in range(attempts):
            placing = placer.submit(api.place_order, customer, [(product["id"], 1)], expect=201)
            order_id = _announced(listener, customer.id)
            locked = locker.execute("SELECT status FROM orders WHERE id = %s FOR UPDATE", (order_id,))
            status = locked.fetchone()
            placing.result()
            if status == ("pending",):
                yield order_id
                locker.rollback()
                return
            locker.rollback()
    caught = f"each of {attempts} orders was confirmed before the test could lock it"
    if api.deployment.start_variant is None:  # the url stack: the apps and the database are elsewhere
        pytest.skip(f"{caught}: the apps reach the database faster than the test does here")
    raise AssertionError(caught)


def _announced(listener: psycopg.Connection[Any], user_id: int) -> int:
    """The id of the next new order of the user that PostgreSQL announces (a ``pending`` event: the
    confirmation of an earlier try, announced since, is not it)."""
    deadline = time.monotonic() + RECEIVE_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        for notify in listener.notifies(timeout=left, stop_after=1):
            event = OrderEvent.from_payload(notify.payload)
            if event.user_id == user_id and event.status is OrderStatus.PENDING:
                return event.order_id
    raise AssertionError(f"no order of user {user_id} was announced")
