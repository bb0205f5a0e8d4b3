"""Order status events (:mod:`shared.domain.order_events`): the payload both apps read, and PostgreSQL's
delivery of :func:`shared.db.statements.notify_order_status` to a listener at ``COMMIT`` only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy.orm import Session

from shared.db import statements
from shared.db.models import Order, User
from shared.domain import emails, order_events
from shared.domain.order_events import CHANNEL, OrderEvent
from shared.domain.order_status import OrderStatus

LISTEN_SECONDS = 2  # how long the listener waits for a notification that must come (or must not)


def test_a_payload_reads_as_an_event() -> None:
    payload = (
        '{"order_id": 7, "user_id": 3, "status": "confirmed", "changed_at": "2026-12-02T17:44:06.5+01:00"}'
    )
    event = OrderEvent.from_payload(payload)
    assert (event.order_id, event.user_id, event.status) == (7, 3, OrderStatus.CONFIRMED)
    assert event.changed_at == datetime(2026, 12, 2, 16, 44, 6, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        '{"order_id": 7, "user_id": 3, "status": "shipped", "changed_at": "2026-12-02T17:44:06+00:00"}',
        '{"order_id": 7, "user_id": 3, "status": "pending"}',
        '{"order_id": 7, "user_id": 3, "status": "pending", "changed_at": "2026-12-02T17:44:06"}',
    ],
    ids=["not JSON", "not an object", "an unknown status", "no time", "a time without offset"],
)
def test_a_malformed_payload_is_refused(payload: str) -> None:
    with pytest.raises(ValueError, match="order event"):
        OrderEvent.from_payload(payload)


def _new_order(database: Session) -> Order:
    email = f"events-{uuid.uuid4().hex[:12]}@example.com"
    user = User(email=email, email_key=emails.account_key(email), full_name="Ada", password_hash="x")
    database.add(user)
    database.flush()
    order = Order(user_id=user.id, status=OrderStatus.PENDING, total_cents=0)
    database.add(order)
    database.commit()
    return order


def test_an_event_reaches_a_listener_at_commit_and_never_after_a_rollback(
    database: Session, app_database_url: str
) -> None:
    order = _new_order(database)
    with psycopg.connect(app_database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        database.execute(statements.notify_order_status(order.id))
        database.rollback()
        assert list(listener.notifies(timeout=LISTEN_SECONDS)) == []

        database.execute(statements.notify_order_status(order.id))
        assert list(listener.notifies(timeout=0.2)) == []  # not before the COMMIT
        database.commit()
        [notify] = listener.notifies(timeout=LISTEN_SECONDS, stop_after=1)
    assert notify.channel == CHANNEL
    event = OrderEvent.from_payload(notify.payload)
    assert (event.order_id, event.user_id, event.status) == (order.id, order.user_id, OrderStatus.PENDING)
    assert event.changed_at == order.created_at


def test_the_listener_backs_off_while_its_connections_fail_and_starts_over_after_one_lasted() -> None:
    waits, retry = [], order_events.LISTENER_RETRY_SECONDS
    for _ in range(7):  # each connection failed at once
        wait, retry = order_events.next_retry_seconds(retry, lasted_seconds=0.1)
        waits.append(wait)
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    wait, retry = order_events.next_retry_seconds(retry, lasted_seconds=order_events.LISTENER_CHECK_SECONDS)
    assert (wait, retry) == (1, 2)
