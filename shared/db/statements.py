"""The SQL that correctness depends on, built once for both apps.

Both apps' ``services.py`` and ``outbox.py`` run the same statements, one with ``await``, one without. The
statements whose exact shape is a rule (lock rows in id order, take the idempotency key's lock, claim an
outbox row with ``SKIP LOCKED``, accept only unexpired, unrevoked tokens) are built here, once; each app
executes them in its own idiom (``await session.scalars(...)`` on an ``AsyncSession``,
``session.scalars(...)`` on a ``Session``). The flow around them (which statement, in what order, when to
commit) stays in each app, where a reader of that app expects it.

Why one copy rather than two copies and a test that they match: a drift test notices a fix made in one app
only after the fact, and has to be taught what "the same" means for two differently written statements;
a statement built once cannot drift. The cost is one hop for the reader, from the service to this module.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Delete,
    Float,
    Select,
    Text,
    Update,
    cast,
    delete,
    false,
    func,
    select,
    update,
)
from sqlalchemy.orm import raiseload
from sqlalchemy.sql.dml import ReturningUpdate

from shared.db.models import AdminSession, AuthToken, IdempotencyKey, Order, OutboxMessage, Product, User
from shared.domain import emails, order_events
from shared.domain.confirmation import CONFIRMATION_TOPIC
from shared.domain.idempotency import advisory_lock_key
from shared.domain.limits import ADMIN_SESSION_IDLE_SECONDS
from shared.domain.order_status import OrderStatus
from shared.domain.security import hash_token

# --- accounts ---------------------------------------------------------------------------------------------


def user_by_email(email: str) -> Select[User]:
    """The user whose account key (:func:`shared.domain.emails.account_key`) is ``email``'s; a statement that
    finds no one if ``email`` is not an address the API accepts (so a login with it is a plain wrong
    login)."""
    key = emails.login_key(email)
    return select(User).where(false() if key is None else User.email_key == key)


def valid_token(token: str) -> Select[AuthToken]:
    """The token row (with its user) for the opaque ``token``, if it is unexpired and unrevoked by the
    database's clock. Only the SHA-256 of a token is stored (:mod:`shared.domain.security`)."""
    return select(AuthToken).where(
        AuthToken.token_hash == hash_token(token),
        AuthToken.revoked_at.is_(None),
        AuthToken.expires_at > func.now(),
    )


def lock_user(user_id: int) -> Select[User]:
    """``SELECT ... FOR UPDATE`` of a user (a back-office change of their admin right)."""
    return select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)


# --- the back office --------------------------------------------------------------------------------------


def valid_admin_session(token: str) -> Select[AdminSession]:
    """The back-office session (with its user) for the opaque ``token`` from its cookie, if it is unrevoked,
    unexpired, used within :data:`~shared.domain.limits.ADMIN_SESSION_IDLE_SECONDS`, and its user still an
    admin, by the database's clock. Only the SHA-256 of the reference is stored."""
    return (
        select(AdminSession)
        .join(AdminSession.user)
        .where(
            AdminSession.token_hash == hash_token(token),
            AdminSession.revoked_at.is_(None),
            AdminSession.expires_at > func.now(),
            AdminSession.last_seen_at > func.now() - timedelta(seconds=ADMIN_SESSION_IDLE_SECONDS),
            User.is_admin,
        )
    )


def touch_admin_session(admin_session_id: int) -> Update:
    """Record a request of the session now, which restarts its idle time."""
    return update(AdminSession).where(AdminSession.id == admin_session_id).values(last_seen_at=func.now())


def purge_ended_admin_sessions() -> Delete:
    """Delete the back-office sessions that can no longer be used: signed out, too old, or idle too long
    (:func:`valid_admin_session` already refuses them)."""
    idle_since = func.now() - timedelta(seconds=ADMIN_SESSION_IDLE_SECONDS)
    return delete(AdminSession).where(
        AdminSession.revoked_at.is_not(None)
        | (AdminSession.expires_at <= func.now())
        | (AdminSession.last_seen_at <= idle_since)
    )


def revoke_admin_session(admin_session_id: int) -> Update:
    """End a back-office session (sign-out): its cookie stops working at once, on every worker."""
    return update(AdminSession).where(AdminSession.id == admin_session_id).values(revoked_at=func.now())


# --- orders -----------------------------------------------------------------------------------------------


def lock_products(product_ids: list[int]) -> Select[Product]:
    """``SELECT ... FOR UPDATE`` of the products, in ascending id order.

    Every transaction that locks several products locks them in this one order, so two orders for the same
    products wait for each other instead of deadlocking. ``populate_existing`` refreshes rows the session
    already holds with the values read under the lock.
    """
    return (
        select(Product)
        .where(Product.id.in_(product_ids))
        .order_by(Product.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def try_lock_idempotency_key(user_id: int, key: str) -> Select[bool]:
    """``pg_try_advisory_xact_lock(user_id, n)``: true if this transaction now holds the key's lock.

    The lock is transaction-scoped: it is released at commit or rollback, also when the process dies, so a
    key is never stuck "in flight"; and it needs no session state, so it works through a transaction-mode
    pooler. A concurrent request with the same key gets false at once, instead of waiting or racing.
    """
    return select(func.pg_try_advisory_xact_lock(user_id, advisory_lock_key(key), type_=Boolean))


def stored_idempotency_key(user_id: int, key: str) -> Select[IdempotencyKey, bool]:
    """The user's stored response under ``key``, and whether it has expired (by the database's clock)."""
    return select(IdempotencyKey, IdempotencyKey.expires_at <= func.now()).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
    )


def lock_order(order_id: int, *, user_id: int | None) -> Select[Order]:
    """``SELECT ... FOR UPDATE`` of the order, if it is the user's (no row for someone else's); any user's
    with ``user_id=None`` (the back office)."""
    query = select(Order).where(Order.id == order_id)
    if user_id is not None:
        query = query.where(Order.user_id == user_id)
    return query.with_for_update().execution_options(populate_existing=True)


def _order_event_payload() -> ColumnElement[str]:
    """An order row as the JSON text :meth:`~shared.domain.order_events.OrderEvent.from_payload` reads;
    ``changed_at`` is the time of the latest change, by the database's clock."""
    payload = func.json_build_object(
        "order_id",
        Order.id,
        "user_id",
        Order.user_id,
        "status",
        Order.status,
        "changed_at",
        func.coalesce(Order.cancelled_at, Order.confirmed_at, Order.created_at),
    )
    return cast(payload, Text)


def notify_order_status(order_id: int) -> Select[str]:
    """``NOTIFY`` :data:`~shared.domain.order_events.CHANNEL` with the order's status as it is now in this
    transaction (after the change that the caller has made): delivered at ``COMMIT``, never after a
    rollback."""
    return select(func.pg_notify(order_events.CHANNEL, _order_event_payload())).where(Order.id == order_id)


def current_order_events(order_ids: list[int]) -> Select[str]:
    """The current state of each of the orders, as :func:`order_event` reads one: what the live sockets are
    sent again, in one query for all of them, after their process's ``LISTEN`` connection was lost."""
    return select(_order_event_payload()).where(Order.id.in_(order_ids))


def order_event(order_id: int, *, user_id: int) -> Select[str]:
    """The user's order's current state, as the payload a ``NOTIFY`` of its latest change carries (no row for
    an unknown order or someone else's): what a live socket sends first."""
    return select(_order_event_payload()).where(Order.id == order_id, Order.user_id == user_id)


def mark_cancelled(order_id: int) -> ReturningUpdate[Order]:
    """Set the order ``cancelled`` at the database's time and return it, with ``cancelled_at`` loaded.

    ``RETURNING``, because a value assigned as SQL (``order.cancelled_at = func.now()``) is expired after the
    flush, and reading it later would be a lazy load, which an ``AsyncSession`` cannot do.
    """
    return (
        update(Order)
        .where(Order.id == order_id)
        .values(status=OrderStatus.CANCELLED, cancelled_at=func.now())
        .returning(Order)
        .execution_options(populate_existing=True)
    )


# --- the outbox -------------------------------------------------------------------------------------------


def claim_confirmation(order_id: int) -> Select[OutboxMessage]:
    """The order's unsent confirmation, locked ``FOR UPDATE SKIP LOCKED``.

    A row another transaction is delivering is skipped (no row), not waited for: two relays, or a relay and
    the request's own delivery, never send one message at the same time.
    """
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.order_id == order_id,
            OutboxMessage.topic == CONFIRMATION_TOPIC,
            OutboxMessage.sent_at.is_(None),
        )
        .with_for_update(skip_locked=True)
    )


def lock_order_status(order_id: int) -> Select[Order]:
    """``SELECT ... FOR UPDATE`` of the order whose confirmation is being delivered, so that a cancellation
    waits for it. Only the status is read (the outbox message holds the lines), so the items ``Order``
    otherwise loads with it are not: one statement fewer per order, and reading them raises."""
    return select(Order).where(Order.id == order_id).with_for_update().options(raiseload(Order.items))


def count_failed_attempt(message_id: int) -> Update:
    """Add one to the message's ``attempts`` (after a failed delivery; it stays unsent)."""
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(attempts=OutboxMessage.attempts + 1)
    )


def unsent_order_ids(*, older_than: timedelta, limit: int) -> Select[int]:
    """Ids of orders whose confirmation is unsent and older than ``older_than``, oldest first (the partial
    index ``ix_outbox_unsent``). Younger rows are left to the request's own delivery."""
    return (
        select(OutboxMessage.order_id)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.created_at < func.now() - older_than)
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )


def purge_expired_idempotency_keys() -> Delete:
    """Delete the idempotency keys past their ``expires_at`` (reads already ignore them)."""
    return delete(IdempotencyKey).where(IdempotencyKey.expires_at <= func.now())


# --- metrics ----------------------------------------------------------------------------------------------


def outbox_backlog() -> Select[int, float]:
    """One row: the count of unsent messages and the oldest one's age in seconds (NULL when none). Each app
    runs it when ``/metrics`` is scraped, and hands the row to
    :meth:`shared.observability.metrics.OutboxBacklog.from_row`."""
    age = cast(func.extract("epoch", func.now() - func.min(OutboxMessage.created_at)), Float)
    return select(func.count(), age).where(OutboxMessage.sent_at.is_(None))
