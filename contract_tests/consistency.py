"""What any load must leave in the database, checked in SQL after it: ``make chaos`` and ``make bench``.

No order is partial (each has lines, and its total is theirs), stock taken equals units sold, no idempotency
key made two orders, and every confirmation is delivered (by the relay, for those the request's own delivery
missed).
"""

from __future__ import annotations

import time

import psycopg

UNITS_SOLD = """
    SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id
    WHERE i.product_id = p.id AND o.status <> 'cancelled'"""
CHECKS = {
    "orders without lines": """
        SELECT count(*) FROM orders o
        WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)""",
    "orders whose total is not their lines'": """
        SELECT count(*) FROM orders o
        WHERE o.total_cents <> (SELECT sum(i.line_total_cents) FROM order_items i WHERE i.order_id = o.id)""",
    "products whose stock taken differs from units sold": f"""
        SELECT count(*) FROM products p
        WHERE p.id = ANY(%(products)s) AND %(stock)s - p.stock <> ({UNITS_SOLD})""",  # noqa: S608 (constants)
    "orders without their idempotency key (a key that made two orders)": """
        SELECT count(*) FROM orders o
        WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.order_id = o.id)""",
    "confirmations not delivered": "SELECT count(*) FROM outbox WHERE sent_at IS NULL",
    "orders not confirmed": "SELECT count(*) FROM orders WHERE status = 'pending'",
}


def check_database(url: str, product_ids: list[int], *, stock: int, wait_seconds: float) -> list[str]:
    """Run :data:`CHECKS` on the products ``product_ids``, each made with ``stock`` units; undelivered
    confirmations get ``wait_seconds`` for the relay to send them. Returns what failed, e.g. ``"2 orders
    without lines"``; empty when all holds."""
    deadline = time.monotonic() + wait_seconds
    with psycopg.connect(url, autocommit=True) as connection:
        while True:
            counts = {
                name: connection.execute(sql, {"products": product_ids, "stock": stock}).fetchone()[0]  # type: ignore[index]
                for name, sql in CHECKS.items()
            }
            if not any(counts.values()) or time.monotonic() > deadline:
                return [f"{count} {name}" for name, count in counts.items() if count]
            time.sleep(1)
