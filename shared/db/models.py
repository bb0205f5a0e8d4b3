"""SQLAlchemy 2.x declarative models: the one schema both apps read and write.

Integrity lives in the database as well as in code: ``CHECK`` constraints keep stock and quantities in range,
unique constraints keep account keys (:func:`shared.domain.emails.account_key`), SKUs and idempotency keys
unique, and foreign keys keep orders attached to users and products. The Alembic revisions in
``shared/db/migrations`` create exactly this schema (``alembic check`` reports no difference).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.domain.audit import AuditAction
from shared.domain.confirmation import CONFIRMATION_TOPIC
from shared.domain.idempotency import KEY_TTL
from shared.domain.limits import CURRENCY
from shared.domain.order_status import OrderStatus
from shared.domain.pricing import PricedLine, order_total_cents

# Deterministic constraint names, so migrations can refer to them (and drop them) by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base: timezone-aware timestamps and the naming convention above."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


def _primary_key() -> Mapped[int]:
    return mapped_column(Identity(), primary_key=True)


def _created_at() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


class User(Base):
    """An account. ``email`` is as :func:`shared.domain.emails.normalize` returns it, and ``email_key`` its
    :func:`shared.domain.emails.account_key`, unique (revision 0003 also adds a trigger that fills it in for
    the release before it); ``password_hash`` is an argon2id PHC string."""

    __tablename__ = "users"

    id: Mapped[int] = _primary_key()
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(Text, unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[datetime] = _created_at()


class AuthToken(Base):
    """An issued bearer token, stored only as the SHA-256 hex digest of the opaque token."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = _primary_key()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class Product(Base):
    """A catalog entry. ``price_cents`` is in minor units of ``currency``; ``stock`` never goes negative."""

    __tablename__ = "products"

    id: Mapped[int] = _primary_key()
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), server_default=CURRENCY)
    stock: Mapped[int]
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        # trigram index: makes the catalog's case-insensitive substring search (ILIKE '%q%') indexable
        Index("ix_products_name_trgm", name, postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
    )


class Order(Base):
    """A placed order: ``total_cents`` is the sum of its line items; ``status`` is an :class:`OrderStatus`."""

    __tablename__ = "orders"

    id: Mapped[int] = _primary_key()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[OrderStatus] = mapped_column(
        # VARCHAR(16) with the CHECK ck_orders_status_known generated from the enum's values (not a native
        # PostgreSQL ENUM, which needs its own DDL to change); a new status means a migration of that CHECK
        Enum(
            OrderStatus,
            name="status_known",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda statuses: [status.value for status in statuses],
        ),
        server_default=OrderStatus.PENDING.value,
    )
    total_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), server_default=CURRENCY)
    created_at: Mapped[datetime] = _created_at()
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.id", cascade="all, delete-orphan", lazy="selectin"
    )
    # the back office shows who ordered; the API never needs it, so it is loaded only when asked for
    customer: Mapped[User] = relationship(lazy="raise")

    @classmethod
    def from_priced_lines(cls, *, user_id: int, lines: Sequence[PricedLine]) -> Order:
        """A new ``pending`` order of ``lines`` (from :func:`shared.domain.pricing.price_order`), with its
        total."""
        return cls(
            user_id=user_id,
            status=OrderStatus.PENDING,
            total_cents=order_total_cents(lines),
            currency=CURRENCY,
            items=[
                OrderItem(
                    product_id=line.product_id,
                    sku=line.sku,
                    name=line.name,
                    unit_price_cents=line.unit_price_cents,
                    quantity=line.quantity,
                    line_total_cents=line.line_total_cents,
                )
                for line in lines
            ],
        )

    def mark_confirmed(self) -> None:
        """Set the order ``confirmed`` at the database's time (its confirmation was sent; the caller has
        checked :func:`shared.domain.order_status.can_transition`)."""
        self.status = OrderStatus.CONFIRMED
        self.confirmed_at = func.now()  # a SQL expression: the UPDATE sets it

    __table_args__ = (
        CheckConstraint("total_cents >= 0", name="total_non_negative"),
        # "my orders, newest first" is an index scan
        Index("ix_orders_user_id_created_at", "user_id", text("created_at DESC"), text("id DESC")),
    )


class OrderItem(Base):
    """A line item: the product's SKU, name and price copied at order time, times a quantity."""

    __tablename__ = "order_items"

    id: Mapped[int] = _primary_key()
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit_price_cents: Mapped[int]
    quantity: Mapped[int]
    line_total_cents: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="items")

    __table_args__ = (
        UniqueConstraint("order_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_cents >= 0", name="unit_price_non_negative"),
        CheckConstraint("line_total_cents = unit_price_cents * quantity", name="line_total_matches"),
    )


class IdempotencyKey(Base):
    """A completed ``POST /orders`` remembered under the client's ``Idempotency-Key`` for replay.

    Only successful responses are stored (in the same transaction as the order they describe), so a row
    exists exactly when its order does. ``request_fingerprint`` is the SHA-256 hex digest of the
    canonical request body.
    """

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = _primary_key()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(index=True)

    @classmethod
    def for_order(
        cls, *, user_id: int, key: str, request_fingerprint: str, order_id: int, response_body: str
    ) -> IdempotencyKey:
        """The row remembering ``response_body``, the flushed order's response, under the user's ``key`` for
        :data:`shared.domain.idempotency.KEY_TTL` by the database's clock."""
        return cls(
            user_id=user_id,
            key=key,
            request_fingerprint=request_fingerprint,
            order_id=order_id,
            response_body=response_body,
            expires_at=func.now() + KEY_TTL,
        )

    __table_args__ = (UniqueConstraint("user_id", "key"),)


class OutboxMessage(Base):
    """A message to send after its transaction commits (transactional outbox).

    Written in the same transaction as the order, so a confirmation can be late but never lost;
    ``sent_at`` is set once it has been delivered.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = _primary_key()
    topic: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created_at()
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    @classmethod
    def order_confirmation(cls, order: Order, user: User) -> OutboxMessage:
        """The confirmation of a flushed ``order`` (it needs the id), with everything the email shows."""
        lines = [
            {"sku": i.sku, "name": i.name, "quantity": i.quantity, "line_total_cents": i.line_total_cents}
            for i in order.items
        ]
        payload = {
            "order_id": order.id,
            "email": user.email,
            "full_name": user.full_name,
            "total_cents": order.total_cents,
            "currency": order.currency,
            "lines": lines,
        }
        return cls(topic=CONFIRMATION_TOPIC, order_id=order.id, payload=payload)

    def mark_sent(self) -> None:
        """Record one more delivery attempt, the one that sent the message (or found nothing to send), at the
        database's time: the relays never pick it up again."""
        self.sent_at = func.now()  # a SQL expression: the UPDATE sets it
        self.attempts += 1

    __table_args__ = (
        UniqueConstraint("order_id", "topic"),
        # the relay's "what is still unsent?" query reads only this small partial index
        Index("ix_outbox_unsent", "created_at", postgresql_where=text("sent_at IS NULL")),
    )


class LoginThrottle(Base):
    """Failed logins of one ``subject``: an account from one client address, or one client address across
    accounts (:mod:`shared.domain.logins` builds the subjects, :mod:`shared.db.login_throttles`
    every statement on this table).

    ``failures`` counts since the last success (accounts) or since a quiet day (both); ``blocked_until``
    is when the next attempt is allowed, ``NULL`` while the free failures last.
    """

    __tablename__ = "login_throttles"

    subject: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("failures >= 0", name="failures_not_negative"),)


class AdminSession(Base):
    """A signed-in back-office session (``/admin``), stored only as the SHA-256 hex digest of the opaque
    reference its cookie carries (:mod:`shared.domain.security`), so it can be revoked from the server.

    It is valid while unrevoked, used within the last
    :data:`~shared.domain.limits.ADMIN_SESSION_IDLE_SECONDS` (``last_seen_at``), before ``expires_at`` (the
    sign-in plus :data:`~shared.domain.limits.ADMIN_SESSION_MAX_SECONDS`), and while its user is an admin
    (:func:`shared.db.statements.valid_admin_session`).
    """

    __tablename__ = "admin_sessions"

    id: Mapped[int] = _primary_key()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created_at()
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class AuditEntry(Base):
    """One admin write (:class:`shared.domain.audit.AuditAction`), added in the transaction of the change:
    who (``actor_id``), what (``action``), which row (``entity``, the table, and ``entity_id``), the changed
    fields before and after as JSON, and when (the database's clock)."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = _primary_key()
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int]
    before: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    after: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created_at()

    actor: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (Index("ix_audit_entries_entity_entity_id", "entity", "entity_id"),)

    # what the trail records of each kind of row: never a password hash
    AUDITED_FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "products": ("sku", "name", "description", "price_cents", "stock"),
        "orders": ("status",),
        "users": ("email", "full_name", "is_admin"),
    }

    @classmethod
    def snapshot(cls, row: User | Product | Order) -> dict[str, Any]:
        """The audited fields of ``row`` as JSON values: ``{"price_cents": 1299, ...}``."""
        values = {name: getattr(row, name) for name in cls.AUDITED_FIELDS[row.__tablename__]}
        return {name: getattr(value, "value", value) for name, value in values.items()}  # enums: their value

    @classmethod
    def record(
        cls,
        *,
        actor: User,
        action: AuditAction,
        row: User | Product | Order,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """The entry for ``actor`` doing ``action`` to ``row`` (flushed: it needs the id); ``after``
        defaults to the row's :meth:`snapshot` (a created row)."""
        after = cls.snapshot(row) if after is None else after
        return cls(
            actor_id=actor.id,
            action=action.value,
            entity=row.__tablename__,
            entity_id=row.id,
            before=before or {},
            after=after or {},
        )
