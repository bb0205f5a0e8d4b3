"""The order life cycle: ``pending -> confirmed``, and ``pending | confirmed -> cancelled``."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from shared.domain.exceptions import OrderNotCancellable


class OrderStatus(enum.StrEnum):
    """Where an order is in its life cycle: ``pending``, then ``confirmed`` or ``cancelled``; a confirmed
    order may still be cancelled."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.CANCELLED}),
    OrderStatus.CANCELLED: frozenset(),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Whether an order in status ``current`` may move to ``target``."""
    return target in _TRANSITIONS[current]


def ensure_cancellable(current: OrderStatus) -> None:
    """Raise :class:`OrderNotCancellable` unless an order in status ``current`` may be cancelled."""
    if not can_transition(current, OrderStatus.CANCELLED):
        raise OrderNotCancellable(current)
