"""Pricing an order's line items from the catalog, and the stock they take and give back.

Services call these inside their transaction, on product rows they have locked, and let the exceptions
propagate (:mod:`shared.domain.exceptions`); a refused order has changed nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from shared.domain.exceptions import InsufficientStock, StockOutOfRange, UnknownProduct
from shared.domain.limits import MAX_STOCK


class StockedProduct(Protocol):
    """What pricing needs to know about a product (a ``shared.db.models.Product`` row, locked by the
    caller); ``stock`` is written by :func:`take_stock` and :func:`return_stock`."""

    stock: int

    @property
    def id(self) -> int: ...
    @property
    def sku(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def price_cents(self) -> int: ...


class LineItem(Protocol):
    """A line item's product and number of units (a :class:`PricedLine`, or an ``OrderItem`` row)."""

    @property
    def product_id(self) -> int: ...
    @property
    def quantity(self) -> int: ...


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


def check_each_product_once(product_ids: Iterable[int]) -> None:
    """Raise :class:`ValueError` naming the first product id that appears twice: an order names each product
    at most once (one line item per product, ``uq_order_items_order_id_product_id``). A ``ValueError``, not a
    :class:`DomainError`: both apps' request schemas call it while validating, and answer a 422 at
    ``items``."""
    seen: set[int] = set()
    for product_id in product_ids:
        if product_id in seen:
            raise ValueError(f"product {product_id} appears more than once")
        seen.add(product_id)


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


def take_stock(products: Mapping[int, StockedProduct], lines: Iterable[LineItem]) -> None:
    """Take each line's units out of its product's stock (lines :func:`price_order` has checked, so no stock
    goes below zero; the database's ``CHECK (stock >= 0)`` backs that up)."""
    for line in lines:
        products[line.product_id].stock -= line.quantity


def return_stock(products: Mapping[int, StockedProduct], lines: Iterable[LineItem]) -> None:
    """Put each line's units back in its product's stock (a cancelled order's line items)."""
    for line in lines:
        products[line.product_id].stock += line.quantity


def add_stock(product: StockedProduct, delta: int) -> None:
    """Add ``delta`` units (negative: take them away) to a product's stock, a back-office correction (a
    delivery, a count, breakage). Raises :class:`StockOutOfRange` if the stock would leave
    0..:data:`~shared.domain.limits.MAX_STOCK`; the product is then unchanged."""
    if not 0 <= product.stock + delta <= MAX_STOCK:
        raise StockOutOfRange(product.id, product.stock, delta)
    product.stock += delta
