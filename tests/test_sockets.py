"""The live order socket's protocol (:mod:`shared.http.sockets`) and the order of what a watcher is sent
(:meth:`shared.domain.order_events.OrderEvent.is_news_after`): the parts both apps take from ``shared/``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from simple_websocket import ConnectionClosed

from fastapi_shop import order_events as fastapi_order_events
from flask_shop import order_events as flask_order_events
from shared.domain.order_events import OrderEvent
from shared.domain.order_status import OrderStatus
from shared.http.authorization import bearer_token
from shared.http.sockets import (
    SEND_QUEUE_MESSAGES,
    Close,
    SocketLimitReached,
    event_message,
    message_token,
)

TOKEN = "cA9JyGrdl0fYnzuuO-Mqd9IykvaG4hSOT8pUyMb3nYg"  # as shared.domain.security issues them
CREATED = datetime(2026, 12, 2, 17, 44, 6, 123456, tzinfo=UTC)


def event(status: OrderStatus, after_seconds: float = 0) -> OrderEvent:
    return OrderEvent(7, 3, status, CREATED + timedelta(seconds=after_seconds))


def test_a_message_is_the_order_its_status_and_when_it_changed_in_utc() -> None:
    confirmed = OrderEvent(7, 3, OrderStatus.CONFIRMED, datetime(2026, 12, 2, 18, 44, 6, 5, tzinfo=UTC))
    assert json.loads(event_message(confirmed)) == {
        "order_id": 7,
        "status": "confirmed",
        "changed_at": "2026-12-02T18:44:06.000005Z",
    }  # no user_id: the watcher is that user


def test_a_watcher_is_sent_each_change_once_and_in_order() -> None:
    pending, confirmed, cancelled = (event(s, n) for n, s in enumerate(OrderStatus))
    assert pending.is_news_after(None)
    assert confirmed.is_news_after(pending)
    assert cancelled.is_news_after(confirmed)
    assert not pending.is_news_after(pending)  # heard while the state was read: sent once
    assert not pending.is_news_after(confirmed)  # late: the watcher already has the newer state
    # a cancel whose transaction began before the confirmation's, and committed after it
    early_cancel = OrderEvent(7, 3, OrderStatus.CANCELLED, confirmed.changed_at - timedelta(milliseconds=5))
    assert early_cancel.is_news_after(confirmed)
    assert [e.is_final for e in (pending, confirmed, cancelled)] == [False, False, True]


@pytest.mark.parametrize(
    ("message", "token"),
    [
        (json.dumps({"token": TOKEN}), TOKEN),
        (json.dumps({"token": TOKEN, "extra": 1}), None),
        (json.dumps({"access_token": TOKEN}), None),
        (json.dumps({"token": 42}), None),
        (json.dumps({"token": "two words"}), None),
        (json.dumps({"token": ""}), None),
        (json.dumps([TOKEN]), None),
        ("not json", None),
        (json.dumps({"token": TOKEN}).encode(), None),
        (json.dumps({"token": "a" * 5000}), None),
    ],
    ids=[
        "the-object", "another-field-too", "another-field", "not-text", "not-a-b64token", "empty",
        "an-array", "not-json", "a-binary-frame", "too-long",
    ],
)  # fmt: skip
def test_the_first_message_carries_the_token_as_one_object(message: str | bytes, token: str | None) -> None:
    assert message_token(message) == token


def test_the_header_token_follows_the_apis_bearer_rules() -> None:
    assert bearer_token([f"Bearer {TOKEN}"]) == TOKEN
    assert bearer_token([f"Bearer {TOKEN}", f"Bearer {TOKEN}"]) is None
    assert bearer_token(["Basic dXNlcjpwYXNz"]) is None


def test_every_close_code_is_the_protocols_and_its_reason_fits_a_close_frame() -> None:
    for close in Close:
        assert close.value in (1000, 1001, 1008, 1011, 1013) or 4000 <= close.value <= 4999
        assert 0 < len(close.reason.encode()) <= 123  # RFC 6455 §5.5: a control frame's payload is 125 bytes
    assert len({close.reason for close in Close}) == len(Close)


@pytest.mark.parametrize("app", ["fastapi", "flask"])
def test_a_worker_admits_its_limit_and_drops_a_reader_too_slow(app: str) -> None:
    """Each app's hub: one socket beyond ``SHOP_MAX_SOCKETS_PER_WORKER`` is refused, and a socket with
    :data:`SEND_QUEUE_MESSAGES` messages waiting is marked too slow at the next one, not buffered on."""
    hub: Any
    if app == "fastapi":
        hub = fastapi_order_events.OrderEventHub(2)
        admit = hub.admit
    else:
        hub = flask_order_events.OrderEventHub()
        hub.watchers.limit = 2
        admit = lambda: hub.admit(FakeSocket())  # noqa: E731
    with admit() as first, admit() as second:
        with pytest.raises(SocketLimitReached), admit():
            pass
        hub.watch(first, 7)
        for n in range(SEND_QUEUE_MESSAGES):
            hub.publish(event(OrderStatus.CONFIRMED, n))
        assert not first.too_slow
        hub.publish(event(OrderStatus.CANCELLED, SEND_QUEUE_MESSAGES))
        assert first.too_slow
        assert second.queue.empty()  # it watches no order
        assert not second.too_slow
    with admit():  # the places are free again
        pass


class FakeSocket:
    """What the Flask hub's sweeper reads of a simple-websocket connection: nothing sent, still open."""

    def receive(self, timeout: float | None = None) -> None:
        return None


def test_the_flask_sweeper_wakes_a_socket_whose_client_left() -> None:
    hub = flask_order_events.OrderEventHub()
    hub.watchers.limit = 1

    class LeftSocket(FakeSocket):
        def receive(self, timeout: float | None = None) -> None:
            raise ConnectionClosed(1000, "bye")

    with hub.admit(LeftSocket()) as watcher:
        hub.sweep()
        assert not watcher.client_left  # it watches nothing yet: its token is its own thread's to read
        hub.watch(watcher, 7)
        hub.sweep()
        assert watcher.client_left
        assert watcher.queue.get_nowait() is flask_order_events.Signal.WAKE
