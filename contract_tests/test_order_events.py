"""Order status events, as a listener on the database hears them (:mod:`shared.domain.order_events`): each
app announces every status change of an order, in order, at the change's commit, whichever process made it
(the request, or the confirmation sent after it)."""

from __future__ import annotations

import time

import psycopg

from contract_tests.client import Api, Customer
from shared.domain.order_events import CHANNEL, OrderEvent
from shared.domain.order_status import OrderStatus

WAIT_SECONDS = 15  # for the three events of one order, the relay's confirmation included


def events_of(listener: psycopg.Connection[object], order_id: int, count: int) -> list[OrderEvent]:
    """The first ``count`` events of order ``order_id`` the listener hears (other orders' are skipped)."""
    heard: list[OrderEvent] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while len(heard) < count and (left := deadline - time.monotonic()) > 0:
        for notify in listener.notifies(timeout=left, stop_after=1):
            event = OrderEvent.from_payload(notify.payload)
            if event.order_id == order_id:
                heard.append(event)
    return heard


def test_each_status_change_is_announced_in_order(api: Api, customer: Customer, database_url: str) -> None:
    product = api.create_product(stock=5)
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        order = api.place_order(customer, [(product["id"], 2)], expect=201).json()
        api.wait_until_confirmed(customer, order["id"])
        cancelled = api.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.auth)
        assert cancelled.status_code == 200, cancelled.text
        heard = events_of(listener, order["id"], 3)
    statuses = [event.status for event in heard]
    assert statuses == [OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.CANCELLED]
    assert {event.user_id for event in heard} == {customer.id}
    times = [event.changed_at for event in heard]
    assert times == sorted(times)


def test_a_refused_order_announces_nothing(api: Api, customer: Customer, database_url: str) -> None:
    product = api.create_product(stock=1)
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        api.place_order(customer, [(product["id"], 2)], expect=409)
        heard = [OrderEvent.from_payload(notify.payload) for notify in listener.notifies(timeout=1)]
    assert [event for event in heard if event.user_id == customer.id] == []
