"""Unit tests for the framework-free rules in shared/: pricing, stock, states, timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.domain.exceptions import InsufficientStock, OrderNotCancellable, UnknownProduct
from shared.domain.order_status import OrderStatus, can_transition, ensure_cancellable
from shared.domain.pricing import order_total_cents, price_order
from shared.http.api import format_timestamp


@dataclass
class Row:
    id: int
    sku: str
    name: str
    price_cents: int
    stock: int


CATALOG = {1: Row(1, "MUG-1", "Mug", 1800, 10), 2: Row(2, "TEA-1", "Tea", 650, 2)}


def test_lines_are_priced_from_the_catalog_in_client_order() -> None:
    lines = price_order([(2, 2), (1, 3)], CATALOG)
    assert [(line.product_id, line.unit_price_cents, line.quantity) for line in lines] == [
        (2, 650, 2),
        (1, 1800, 3),
    ]
    assert [line.line_total_cents for line in lines] == [1300, 5400]
    assert [line.sku for line in lines] == ["TEA-1", "MUG-1"]


def test_the_total_is_the_sum_of_line_totals() -> None:
    assert order_total_cents(price_order([(1, 1), (2, 2)], CATALOG)) == 1800 + 1300


def test_an_unknown_product_is_reported_before_any_stock_problem() -> None:
    with pytest.raises(UnknownProduct) as raised:
        price_order([(2, 99), (7, 1)], CATALOG)
    assert raised.value.product_id == 7


def test_asking_for_more_than_the_stock_names_the_line() -> None:
    with pytest.raises(InsufficientStock) as raised:
        price_order([(1, 10), (2, 3)], CATALOG)
    assert (raised.value.product_id, raised.value.requested, raised.value.available) == (2, 3, 2)


def test_exactly_the_stock_is_enough() -> None:
    assert price_order([(2, 2)], CATALOG)[0].quantity == 2


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (OrderStatus.PENDING, OrderStatus.CONFIRMED, True),
        (OrderStatus.PENDING, OrderStatus.CANCELLED, True),
        (OrderStatus.CONFIRMED, OrderStatus.CANCELLED, True),
        (OrderStatus.CONFIRMED, OrderStatus.PENDING, False),
        (OrderStatus.CANCELLED, OrderStatus.CONFIRMED, False),
        (OrderStatus.CANCELLED, OrderStatus.CANCELLED, False),
    ],
)
def test_order_state_transitions(current: OrderStatus, target: OrderStatus, allowed: bool) -> None:
    assert can_transition(current, target) is allowed


def test_a_cancelled_order_is_not_cancellable() -> None:
    ensure_cancellable(OrderStatus.PENDING)
    ensure_cancellable(OrderStatus.CONFIRMED)
    with pytest.raises(OrderNotCancellable):
        ensure_cancellable(OrderStatus.CANCELLED)


def test_timestamps_are_utc_with_microseconds_and_z() -> None:
    assert (
        format_timestamp(datetime(2026, 11, 21, 7, 23, 0, 123456, tzinfo=UTC))
        == "2026-11-21T07:23:00.123456Z"
    )
    assert format_timestamp(datetime(2026, 11, 21, 7, 23, tzinfo=UTC)) == "2026-11-21T07:23:00.000000Z"
    plus_two = timezone(timedelta(hours=2))
    assert (
        format_timestamp(datetime(2026, 11, 21, 9, 23, 0, 5, tzinfo=plus_two))
        == "2026-11-21T07:23:00.000005Z"
    )


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_timestamp(datetime(2026, 11, 21, 7, 23))
