"""What the back office's dashboard reads, built once for both apps (each runs it in its own idiom, in its
``services.read_dashboard``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from shared.db.models import Order, Product
from shared.domain.order_status import OrderStatus

LOWEST_STOCK_ROWS = 10


@dataclass(frozen=True)
class Dashboard:
    """Today's orders (UTC day, cancelled ones left out) and their revenue in cents, the confirmations not
    yet sent and the oldest one's age in seconds (``None`` when none), and the products lowest in stock."""

    orders_today: int
    revenue_today_cents: int
    unsent_confirmations: int
    oldest_unsent_seconds: float | None
    lowest_stock: Sequence[Product]


def orders_today() -> Select[int, int]:
    """One row: the count and the total in cents of today's orders (UTC, by the database's clock) that are
    not cancelled."""
    midnight = func.date_trunc("day", func.now(), "UTC")  # PostgreSQL 12+: the day in that time zone
    return select(func.count(), func.coalesce(func.sum(Order.total_cents), 0)).where(
        Order.created_at >= midnight, Order.status != OrderStatus.CANCELLED
    )


def lowest_stock() -> Select[Product]:
    """The :data:`LOWEST_STOCK_ROWS` products with the fewest units in stock, fewest first."""
    return select(Product).order_by(Product.stock, Product.id).limit(LOWEST_STOCK_ROWS)
