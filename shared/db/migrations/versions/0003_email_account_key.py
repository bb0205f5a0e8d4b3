"""Accounts are unique by a key Python computes, ``users.email_key``, not by PostgreSQL's ``lower(email)``.

Python's ``str.lower()`` (used for lookups) and PostgreSQL's ``lower()`` (the unique index) disagreed on
some letters: an address with a Greek capital sigma or a dotted capital I could register and never log in,
and one could block another that differs from it. :func:`shared.domain.emails.account_key` is now the one
rule, computed in Python and only compared by the database.

Expand, then contract:
- This revision (expand) adds ``email_key``, fills it for every row, makes it ``NOT NULL`` and unique,
  stores each address in its normalized form (the domain lowercased), and drops ``uq_users_email_lower``
  (kept, it would go on refusing addresses that ``lower()`` confuses). It keeps the release before it
  working: that release inserts users without ``email_key``, so a trigger fills in ``lower(email)`` for it,
  and its ``ON CONFLICT DO NOTHING`` now meets the new unique constraint. For ASCII addresses ``lower()`` is
  exactly the new key; a non-ASCII address registered by the old release during a rollout gets the old
  rule's key, as it would have before this revision. The old release finds users by ``lower(email)``, now
  without an index: a sequential scan, for as long as the rollout (or a rollback) lasts.
- A later revision (contract) drops the trigger, once no release before this one runs.

Rows the new rules refuse (an address registered before validation was strict, such as
``x,victim@example.com``) keep their address and get a key from it; such an account cannot log in until
its address is corrected, because a login's username must pass the same rules. Two rows whose addresses
now share a key (``ß1@`` and ``SS1@``) make this revision fail, naming them, before anything is changed;
an operator decides which account keeps the address.

Computing the key needs Python, so the backfill reads and updates every row (one statement per row):
seconds for a demo's thousands of users; for millions, backfill in batches before this revision instead.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.domain import emails

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

users = sa.table("users", sa.column("id", sa.Integer), sa.column("email", sa.String), sa.column("email_key"))


def _address_and_key(stored: str) -> tuple[str, str]:
    try:
        address = emails.normalize(stored)
    except emails.EmailNotValidError:
        local, _, domain = stored.rpartition("@")
        address = f"{local}@{domain.lower()}"  # kept as it was, but for the letter case of the domain
    return address, emails.account_key(address)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(users.c.id, users.c.email).order_by(users.c.id)).all()
    updates: dict[int, tuple[str, str]] = {}
    owner_of_key: dict[str, int] = {}
    for user_id, stored in rows:
        address, key = _address_and_key(stored)
        if key in owner_of_key:
            raise RuntimeError(
                f"users {owner_of_key[key]} and {user_id} now name one account ({key}): "
                "change one address, then upgrade again"
            )
        owner_of_key[key] = user_id
        updates[user_id] = (address, key)

    op.add_column("users", sa.Column("email_key", sa.Text(), nullable=True))
    for user_id, (address, key) in updates.items():
        connection.execute(sa.update(users).where(users.c.id == user_id).values(email=address, email_key=key))
    op.alter_column("users", "email_key", nullable=False)
    op.create_unique_constraint("uq_users_email_key", "users", ["email_key"])
    op.drop_index("uq_users_email_lower", "users")
    op.execute(
        """
        CREATE FUNCTION users_email_key_default() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.email_key := lower(NEW.email);
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER users_email_key_default BEFORE INSERT ON users FOR EACH ROW"
        " WHEN (NEW.email_key IS NULL) EXECUTE FUNCTION users_email_key_default()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER users_email_key_default ON users")
    op.execute("DROP FUNCTION users_email_key_default()")
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
    op.drop_constraint("uq_users_email_key", "users", type_="unique")
    op.drop_column("users", "email_key")
