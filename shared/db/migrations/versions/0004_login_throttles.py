"""Failed logins, counted per account and client address and per client address
(``shared.domain.logins``).

A new table only: nothing existing is locked or rewritten, and the release before this one ignores it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        # the bare name: the metadata's naming convention adds the "ck_login_throttles_" (revision 0002)
        sa.CheckConstraint("failures >= 0", name="failures_not_negative"),
        sa.PrimaryKeyConstraint("subject", name="pk_login_throttles"),
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
