"""Pure domain rules of the shop: order limits, pricing, stock and order states. No I/O, no frameworks.

Services in both apps call these functions inside their transactions and let the exceptions below
propagate; each app's ``errors.py`` turns them into RFC 9457 problem documents via :mod:`shared.problems`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

CURRENCY = "USD"

# Request limits, shared so that both apps validate identically.
MAX_ORDER_LINES = 50
MAX_LINE_QUANTITY = 100
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,63}$"  # 3..64 chars: upper-case letters, digits, hyphens
MAX_PRICE_CENTS = 100_000_000  # one million dollars
MAX_STOCK = 1_000_000
MAX_DB_ID = 2**31 - 1  # ids are PostgreSQL integers; larger ids cannot exist
PAGE_LIMIT_DEFAULT = 20
PAGE_LIMIT_MAX = 100


class DomainError(Exception):
    """Base of every rule violation the API reports as a problem document."""


class NotFound(DomainError):
    """The resource does not exist, or is not the caller's to see (no existence leak)."""


class EmailTaken(DomainError):
    """Registration with an email that already names an account (:func:`shared.emails.account_key`)."""


class SkuTaken(DomainError):
    """A product with this SKU already exists."""


class UnknownProduct(DomainError):
    """An order line names a product id that does not exist."""

    def __init__(self, product_id: int) -> None:
        super().__init__(f"Product {product_id} does not exist.")
        self.product_id = product_id


class InsufficientStock(DomainError):
    """An order line asks for more units than are in stock; the whole order is refused."""

    def __init__(self, product_id: int, requested: int, available: int) -> None:
        super().__init__(f"Product {product_id}: {requested} requested, {available} available.")
        self.product_id = product_id
        self.requested = requested
        self.available = available


class OrderNotCancellable(DomainError):
    """The order's status does not allow cancelling (it is already cancelled)."""

    def __init__(self, status: OrderStatus) -> None:
        super().__init__(f"An order that is {status} cannot be cancelled.")
        self.status = status


class OrderStatus(enum.StrEnum):
    """Order life cycle: ``pending -> confirmed``, and ``pending | confirmed -> cancelled``."""

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


class StockedProduct(Protocol):
    """What pricing needs to know about a product (a ``shared.models.Product`` row, locked by the caller)."""

    @property
    def id(self) -> int: ...
    @property
    def sku(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def price_cents(self) -> int: ...
    @property
    def stock(self) -> int: ...


@dataclass(frozen=True)
class PricedLine:
    """A line item priced from the catalog: ``line_total_cents = unit_price_cents * quantity``."""

    product_id: int
    sku: str
    name: str
    unit_price_cents: int
    quantity: int

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


def price_order(lines: Sequence[tuple[int, int]], products: Mapping[int, StockedProduct]) -> list[PricedLine]:
    """Price ``lines`` of ``(product_id, quantity)`` against locked catalog rows, in the client's order.

    Prices always come from ``products``, never from the client. Checks every line before returning, so a
    refused order changes nothing. Raises :class:`UnknownProduct` for the first id missing from
    ``products``, then :class:`InsufficientStock` for the first line asking for more than ``stock``.
    """
    for product_id, _ in lines:
        if product_id not in products:
            raise UnknownProduct(product_id)
    priced = []
    for product_id, quantity in lines:
        product = products[product_id]
        if quantity > product.stock:
            raise InsufficientStock(product_id, quantity, product.stock)
        priced.append(PricedLine(product.id, product.sku, product.name, product.price_cents, quantity))
    return priced


def order_total_cents(lines: Sequence[PricedLine]) -> int:
    """Sum of the line totals, in cents."""
    return sum(line.line_total_cents for line in lines)


@dataclass(frozen=True)
class PlacedOrder:
    """What placing an order produced: the order's id and its response ``body`` (JSON text, exactly as
    remembered for replays under an idempotency key), and whether this request ``replayed`` an earlier one
    instead of creating the order now."""

    order_id: int
    body: str
    replayed: bool


def format_timestamp(value: datetime) -> str:
    """Render an aware datetime as RFC 3339 UTC with microseconds and ``Z``: ``2026-11-21T07:23:00.123456Z``.

    Both apps render every timestamp through this function, so the same stored value is the same bytes.
    """
    if value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; the schema stores timestamptz")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
