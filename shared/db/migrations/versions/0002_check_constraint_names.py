"""CHECK constraints get the names the models give them.

Revision 0001 passed full names (``ck_orders_status_known``) to ``sa.CheckConstraint`` inside
``op.create_table``, and Alembic applied the metadata's naming convention
(``ck_%(table_name)s_%(constraint_name)s``) on top: the database got ``ck_orders_ck_orders_status_known``.
``alembic check`` compares no CHECK constraints, so nothing noticed until the order status CHECK became one
SQLAlchemy generates from ``OrderStatus`` (an ``Enum(native_enum=False)`` named ``status_known``), which a
later migration must find under its own name to change it. ``tests/test_migrations.py`` now compares every
CHECK of a migrated database with the models'.

Renaming keeps each definition as it is: no table is scanned or rewritten.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKS = {
    "products": ("stock_non_negative", "price_non_negative"),
    "orders": ("status_known", "total_non_negative"),
    "order_items": ("quantity_positive", "unit_price_non_negative", "line_total_matches"),
}


def _rename(table: str, old: str, new: str) -> None:
    # plain SQL: a name given to an Alembic operation would get the naming convention applied once more
    op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {old} TO {new}")


def upgrade() -> None:
    for table, names in CHECKS.items():
        for name in names:
            _rename(table, f"ck_{table}_ck_{table}_{name}", f"ck_{table}_{name}")


def downgrade() -> None:
    for table, names in CHECKS.items():
        for name in names:
            _rename(table, f"ck_{table}_{name}", f"ck_{table}_ck_{table}_{name}")
