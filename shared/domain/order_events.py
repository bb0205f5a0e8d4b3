"""Order status events: what a change of an order's status tells the apps' live sockets, defined once for
both apps.

The service that changes a status also sends a PostgreSQL ``NOTIFY`` on :data:`CHANNEL`, in the change's own
transaction (:func:`shared.db.statements.notify_order_status`): PostgreSQL delivers it at ``COMMIT``, and
never for a change that was rolled back, to every connection that ``LISTEN``s, whichever app made the change.
The payload is the JSON object :meth:`OrderEvent.from_payload` reads.

A watcher (a live socket, :mod:`shared.http.sockets`) first reads the order's current state, then hears its
changes; :meth:`OrderEvent.is_news_after` tells which of them it has not seen yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from shared.domain.order_status import OrderStatus

CHANNEL = "shop_order_status"  # a PostgreSQL identifier: LISTEN shop_order_status
# how each app's LISTEN connection names itself to PostgreSQL (pg_stat_activity.application_name)
LISTENER_APPLICATION_NAME = "shop-order-events"
# Each server process keeps one LISTEN connection. It asks it a SELECT 1 every LISTENER_CHECK_SECONDS, to
# find a dead link; one lost (the server restarted, the backend terminated) is opened again after
# LISTENER_RETRY_SECONDS, doubled up to LISTENER_RETRY_MAX_SECONDS while connections keep failing or dying
# younger than LISTENER_CHECK_SECONDS (next_retry_seconds).
LISTENER_CHECK_SECONDS = 10.0
LISTENER_RETRY_SECONDS = 1.0
LISTENER_RETRY_MAX_SECONDS = 30.0


def next_retry_seconds(retry_seconds: float, *, lasted_seconds: float) -> tuple[float, float]:
    """How long to wait before opening the LISTEN connection again, and the wait after that, given the wait
    before this connection (``retry_seconds``) and how long it lasted (both in seconds)."""
    wait = LISTENER_RETRY_SECONDS if lasted_seconds >= LISTENER_CHECK_SECONDS else retry_seconds
    return wait, min(wait * 2, LISTENER_RETRY_MAX_SECONDS)


# no change can follow these (a confirmed order may still be cancelled)
FINAL_STATUSES = frozenset({OrderStatus.CANCELLED})


@dataclass(frozen=True)
class OrderEvent:
    """An order's status as of a change: the order, its customer, the status, and when it took it (an aware
    datetime)."""

    order_id: int
    user_id: int
    status: OrderStatus
    changed_at: datetime

    @classmethod
    def from_payload(cls, payload: str) -> OrderEvent:
        """The event of a ``NOTIFY`` payload, ``{"order_id": 7, "user_id": 3, "status": "confirmed",
        "changed_at": "2026-12-02T17:44:06.123456+00:00"}``; raises :class:`ValueError` if it is not one."""
        try:
            fields = json.loads(payload)
            changed_at = datetime.fromisoformat(fields["changed_at"])
            event = cls(
                int(fields["order_id"]), int(fields["user_id"]), OrderStatus(fields["status"]), changed_at
            )
        except (KeyError, TypeError, ValueError) as error:  # JSON, the status, the time
            raise ValueError(f"not an order event: {payload!r}") from error
        if changed_at.tzinfo is None:
            raise ValueError(f"an order event's time has no offset: {payload!r}")
        return event

    @property
    def is_final(self) -> bool:
        """Whether no further change of this order can come (it is cancelled)."""
        return self.status in FINAL_STATUSES

    def is_news_after(self, seen: OrderEvent | None) -> bool:
        """Whether a watcher that last saw ``seen`` (``None``: nothing yet) has not seen this change. A status
        only moves forward (pending, confirmed, cancelled), so a change is news when its status comes later
        than the one seen: a change heard while the current state was being read is sent once, and an
        older one never after a newer. (Not by ``changed_at``: ``now()`` is when a transaction began, and a
        cancel that began before a confirmation but waited for its lock commits after it, with the earlier
        time.)"""
        return seen is None or _RANK[self.status] > _RANK[seen.status]


_RANK = {status: rank for rank, status in enumerate(OrderStatus)}  # pending, confirmed, cancelled
