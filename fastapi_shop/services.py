"""The service layer: one function per use case, each one unit of work that commits explicitly.

Functions are keyword-only and take the request's ``AsyncSession``; they raise domain exceptions
(:mod:`shared.domain.exceptions`) and know nothing of HTTP or of FastAPI: no request, no response, no schema.
Where a use case must produce the response itself (``place_order`` remembers it for idempotent replays), the
route passes a ``render`` function. The statements correctness depends on come from
:mod:`shared.db.statements`, and the rules from :mod:`shared.domain`. The Flask app's ``services.py`` has the
same functions, in the same order, doing the same steps synchronously.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_shop.passwords import PasswordHashing
from shared.db import back_office, login_throttles, statements
from shared.db.models import (
    AdminSession,
    AuditEntry,
    AuthToken,
    IdempotencyKey,
    Order,
    OutboxMessage,
    Product,
    User,
)
from shared.domain import emails, logins
from shared.domain.audit import AuditAction, changed_fields
from shared.domain.exceptions import (
    EmailTaken,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    LoginThrottled,
    NotAnAdmin,
    NotFound,
    OwnAdminRight,
    SkuTaken,
)
from shared.domain.idempotency import PlacedOrder, order_fingerprint
from shared.domain.limits import ADMIN_SESSION_MAX_SECONDS
from shared.domain.order_events import OrderEvent
from shared.domain.order_status import ensure_cancellable
from shared.domain.pricing import add_stock, price_order, return_stock, take_stock
from shared.domain.security import new_token

# --- accounts ---------------------------------------------------------------------------------------------


async def register_user(
    *,
    session: AsyncSession,
    passwords: PasswordHashing,
    email: str,
    password: str,
    full_name: str,
    actor: User | None = None,
) -> User:
    """Insert a user with an argon2id hash; ``email`` is normalized (:func:`shared.domain.emails.normalize`,
    as the schema does); ``actor``: the admin creating it in the back office, recorded in the audit trail.
    Raises :class:`EmailTaken` if its account key is taken (also when racing another insert),
    :class:`ServiceUnavailable` if no hashing slot frees up in time (:mod:`fastapi_shop.passwords`)."""
    password_hash = await passwords.hash(password)
    user: User | None = await session.scalar(
        insert(User)
        .values(
            email=email, email_key=emails.account_key(email), full_name=full_name, password_hash=password_hash
        )
        .on_conflict_do_nothing()
        .returning(User)
    )
    if user is None:
        raise EmailTaken(f"{email} is already registered.")
    if actor is not None:
        session.add(AuditEntry.record(actor=actor, action=AuditAction.USER_CREATED, row=user))
    await session.commit()
    return user


async def issue_token(
    *,
    session: AsyncSession,
    passwords: PasswordHashing,
    email: str,
    password: str,
    client_address: str,
    limits: logins.LoginLimits,
    ttl_seconds: int,
) -> str | None:
    """A new opaque token for valid credentials, valid ``ttl_seconds``; ``None`` if they are wrong, which
    counts a failure of the account from ``client_address`` and of the address
    (:mod:`shared.domain.logins`).
    Raises :class:`LoginThrottled`, without checking the password, while either is blocked, and
    :class:`ServiceUnavailable` if no hashing slot frees up in time."""
    user = await _check_password(
        session=session,
        passwords=passwords,
        email=email,
        password=password,
        client_address=client_address,
        limits=limits,
    )
    if user is None:
        return None
    token, token_hash = new_token()
    expires_at = func.now() + timedelta(seconds=ttl_seconds)  # the database's clock, as in the check
    session.add(AuthToken(user_id=user.id, token_hash=token_hash, expires_at=expires_at))
    await session.commit()
    return token


async def _check_password(
    *,
    session: AsyncSession,
    passwords: PasswordHashing,
    email: str,
    password: str,
    client_address: str,
    limits: logins.LoginLimits,
) -> User | None:
    """The user whose credentials these are, or ``None`` after counting (and committing) a failure; the
    throttle's rules are :mod:`shared.domain.logins`. Raises :class:`LoginThrottled` while blocked."""
    account, address = logins.subjects(email, client_address)
    # concurrent attempts at this account from here take turns
    await session.execute(login_throttles.hold(account))
    if wait := await session.scalar(login_throttles.seconds_blocked(account, address)):
        raise LoginThrottled(wait)
    user = await session.scalar(statements.user_by_email(email))
    password_hash = user.password_hash if user else None
    if not await passwords.verify(password_hash, password) or user is None:
        await session.execute(login_throttles.record_failure(account, limits.per_account))
        await session.execute(login_throttles.record_failure(address, limits.per_address))
        await session.commit()
        return None
    await session.execute(login_throttles.forget(account))
    return user


async def authenticate_token(*, session: AsyncSession, token: str) -> AuthToken | None:
    """The unexpired, unrevoked token row for ``token`` (with its user), or ``None``."""
    return await session.scalar(statements.valid_token(token))


async def revoke_token(*, session: AsyncSession, token_id: int) -> None:
    """Mark a token revoked; it stops working at once, on both apps."""
    await session.execute(update(AuthToken).where(AuthToken.id == token_id).values(revoked_at=func.now()))
    await session.commit()


# --- catalog ----------------------------------------------------------------------------------------------


async def list_products(
    *, session: AsyncSession, limit: int, offset: int, q: str | None
) -> tuple[list[Product], int]:
    """One page of products by id, and the number of all matches."""
    query = select(Product)
    if q:
        query = query.where(Product.name.icontains(q, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    products = await session.scalars(query.order_by(Product.id).limit(limit).offset(offset))
    return list(products), total or 0


async def get_product(*, session: AsyncSession, product_id: int) -> Product:
    """The product with ``product_id``; raises :class:`NotFound`."""
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound(f"Product {product_id} does not exist.")
    return product


async def create_product(
    *, session: AsyncSession, actor: User, sku: str, name: str, description: str, price_cents: int, stock: int
) -> Product:
    """Insert a product, recorded in the audit trail as the admin ``actor``'s; raises :class:`SkuTaken`
    (also when racing another insert of the SKU)."""
    product: Product | None = await session.scalar(
        insert(Product)
        .values(sku=sku, name=name, description=description, price_cents=price_cents, stock=stock)
        .on_conflict_do_nothing(index_elements=[Product.sku])
        .returning(Product)
    )
    if product is None:
        raise SkuTaken(f"SKU {sku} already exists.")
    session.add(AuditEntry.record(actor=actor, action=AuditAction.PRODUCT_CREATED, row=product))
    await session.commit()
    return product


async def update_product(
    *, session: AsyncSession, actor: User, product_id: int, changes: dict[str, Any]
) -> Product:
    """Set ``changes`` (any of name, description, price_cents, stock), recorded in the audit trail as the
    admin ``actor``'s; raises :class:`NotFound`."""
    if not changes:
        return await get_product(session=session, product_id=product_id)
    before = AuditEntry.snapshot(await _lock_product(session=session, product_id=product_id))
    product = (
        await session.scalars(
            update(Product)
            .where(Product.id == product_id)
            .values(**changes)  # updated_at: the column's onupdate
            .returning(Product)
            .execution_options(populate_existing=True)
        )
    ).one()
    before, after = changed_fields(before, AuditEntry.snapshot(product))
    if after:
        audit = AuditEntry.record(
            actor=actor, action=AuditAction.PRODUCT_UPDATED, row=product, before=before, after=after
        )
        session.add(audit)
    await session.commit()
    return product


async def adjust_stock(
    *, session: AsyncSession, actor: User, product_id: int, delta: int, reason: str
) -> Product:
    """Add ``delta`` units to a product's stock (negative: take them away) for ``reason``, recorded in the
    audit trail as the admin ``actor``'s.

    The product row is locked as an order locks it (:func:`_lock_products`), so an adjustment and an order
    take turns and neither's change is lost. Raises :class:`NotFound`, or :class:`StockOutOfRange` if the
    stock would leave 0..``MAX_STOCK`` (:func:`shared.domain.pricing.add_stock`).
    """
    product = await _lock_product(session=session, product_id=product_id)
    before = {"stock": product.stock}
    add_stock(product, delta)
    after = {"stock": product.stock, "delta": delta, "reason": reason}
    session.add(
        AuditEntry.record(
            actor=actor, action=AuditAction.STOCK_ADJUSTED, row=product, before=before, after=after
        )
    )
    await session.commit()
    return product


# --- orders -----------------------------------------------------------------------------------------------


async def place_order(
    *,
    session: AsyncSession,
    user: User,
    lines: list[tuple[int, int]],
    idempotency_key: str | None,
    render: Callable[[Order], str],
) -> PlacedOrder:
    """Place an order for ``lines`` of ``(product_id, quantity)`` in one transaction.

    Steps: claim the idempotency key (if any); lock the products in id order (so concurrent orders cannot
    deadlock); price the lines from the catalog and check stock; decrement stock; insert the order, its line
    items, its status event (:mod:`shared.domain.order_events`) and the confirmation outbox row; remember
    ``render(order)``, the response body, under the key; commit. A retry with the key and the same lines
    returns the remembered body, ``replayed``.
    Raises :class:`UnknownProduct`, :class:`InsufficientStock`, :class:`IdempotencyKeyReused` or
    :class:`IdempotencyKeyInUse`; on any error nothing is written.
    """
    fingerprint = order_fingerprint(lines)
    if idempotency_key is not None:
        stored = await _claim_idempotency_key(
            session=session, user_id=user.id, key=idempotency_key, fingerprint=fingerprint
        )
        if stored is not None:
            replay = PlacedOrder(order_id=stored.order_id, response_body=stored.response_body, replayed=True)
            await session.rollback()  # ends the transaction, releasing the key's lock; expires `stored`
            return replay

    products = await _lock_products(session=session, product_ids=[product_id for product_id, _ in lines])
    priced = price_order(lines, products)
    take_stock(products, priced)
    order = Order.from_priced_lines(user_id=user.id, lines=priced)
    session.add(order)
    await session.flush()  # assigns order.id and created_at
    await session.execute(statements.notify_order_status(order.id))  # watchers hear of it at COMMIT
    body = render(order)
    session.add(OutboxMessage.order_confirmation(order, user))
    if idempotency_key is not None:
        session.add(
            IdempotencyKey.for_order(
                user_id=user.id,
                key=idempotency_key,
                request_fingerprint=fingerprint,
                order_id=order.id,
                response_body=body,
            )
        )
    await session.commit()
    return PlacedOrder(order_id=order.id, response_body=body, replayed=False)


async def list_orders(
    *, session: AsyncSession, user: User, limit: int, offset: int
) -> tuple[list[Order], int]:
    """One page of the user's orders, newest first, and how many they have."""
    total = await session.scalar(select(func.count()).where(Order.user_id == user.id))
    orders = await session.scalars(
        select(Order)
        .where(Order.user_id == user.id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(orders), total or 0


async def get_order(*, session: AsyncSession, user: User, order_id: int) -> Order:
    """The user's order ``order_id``; raises :class:`NotFound` also for other users' orders."""
    order = await session.scalar(select(Order).where(Order.id == order_id, Order.user_id == user.id))
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.")
    return order


async def read_order_event(*, session: AsyncSession, user_id: int, order_id: int) -> OrderEvent | None:
    """The user's order's current state, as its live socket sends it first; ``None`` for an unknown order or
    someone else's (the socket's refusal does not tell them apart)."""
    payload = await session.scalar(statements.order_event(order_id, user_id=user_id))
    return None if payload is None else OrderEvent.from_payload(payload)


async def read_order_events(*, session: AsyncSession, order_ids: list[int]) -> list[OrderEvent]:
    """The current state of each of the orders (any user's: for sockets already admitted to them)."""
    payloads = await session.scalars(statements.current_order_events(order_ids))
    return [OrderEvent.from_payload(payload) for payload in payloads]


async def cancel_order(*, session: AsyncSession, user: User, order_id: int) -> Order:
    """Cancel the user's order and put its units back in stock, in one transaction.

    Locks the order row, then its products in id order (the same order :func:`place_order` uses).
    Raises :class:`NotFound` or :class:`OrderNotCancellable`.
    """
    order = await session.scalar(statements.lock_order(order_id, user_id=user.id))
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.")
    cancelled = await _cancel(session=session, order=order)
    await session.commit()
    return cancelled


async def cancel_any_order(*, session: AsyncSession, actor: User, order_id: int) -> Order:
    """Cancel any customer's order from the back office, as :func:`cancel_order` does, recorded in the audit
    trail as the admin ``actor``'s. Raises :class:`NotFound` or :class:`OrderNotCancellable`."""
    order = await session.scalar(statements.lock_order(order_id, user_id=None))
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.")
    before = AuditEntry.snapshot(order)
    cancelled = await _cancel(session=session, order=order)
    after = AuditEntry.snapshot(cancelled)
    session.add(
        AuditEntry.record(
            actor=actor, action=AuditAction.ORDER_CANCELLED, row=order, before=before, after=after
        )
    )
    await session.commit()
    return cancelled


async def _cancel(*, session: AsyncSession, order: Order) -> Order:
    """Cancel a locked order, put its units back in stock, and send its status event (uncommitted): its
    products are locked in id order, the order :func:`place_order` uses. Raises
    :class:`OrderNotCancellable`."""
    ensure_cancellable(order.status)
    products = await _lock_products(session=session, product_ids=[item.product_id for item in order.items])
    return_stock(products, order.items)
    # the UPDATE first flushes the stock changes; the row is locked by this transaction, so it is there
    cancelled = (await session.scalars(statements.mark_cancelled(order.id))).one()
    await session.execute(statements.notify_order_status(order.id))
    return cancelled


async def _lock_products(*, session: AsyncSession, product_ids: list[int]) -> dict[int, Product]:
    """``SELECT ... FOR UPDATE`` the products in ascending id order (the one lock order), by id."""
    rows = await session.scalars(statements.lock_products(product_ids))
    return {product.id: product for product in rows}


async def _lock_product(*, session: AsyncSession, product_id: int) -> Product:
    """The product, locked as :func:`_lock_products` locks it; raises :class:`NotFound`."""
    locked = await _lock_products(session=session, product_ids=[product_id])
    if product_id not in locked:
        raise NotFound(f"Product {product_id} does not exist.")
    return locked[product_id]


async def _claim_idempotency_key(
    *, session: AsyncSession, user_id: int, key: str, fingerprint: str
) -> IdempotencyKey | None:
    """Take the key's transaction-scoped advisory lock and return its stored response, if any.

    The lock makes a concurrent request with the same key fail fast with :class:`IdempotencyKeyInUse`
    instead of racing; it is released when the transaction ends, also if the process dies, so a key is
    never stuck "in flight". Raises :class:`IdempotencyKeyReused` if the key was used with another body.
    Expired keys (older than 24 hours) are deleted and the request runs as new.
    """
    if not await session.scalar(statements.try_lock_idempotency_key(user_id, key)):
        raise IdempotencyKeyInUse(f"A request with Idempotency-Key {key!r} is still in progress.")
    row = (await session.execute(statements.stored_idempotency_key(user_id, key))).first()
    if row is None:
        return None
    stored, expired = row
    if expired:
        await session.delete(stored)
        await session.flush()
        return None
    if stored.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was used with a different request body.")
    return stored


# --- the back office --------------------------------------------------------------------------------------


async def start_admin_session(
    *,
    session: AsyncSession,
    passwords: PasswordHashing,
    email: str,
    password: str,
    client_address: str,
    limits: logins.LoginLimits,
) -> str | None:
    """Sign an admin in to the back office: a new session (never one the browser brought: no fixation), valid
    :data:`~shared.domain.limits.ADMIN_SESSION_MAX_SECONDS` at most, and its opaque reference for the
    cookie; ``None`` for wrong credentials, throttled as the token endpoint's are.
    Raises :class:`LoginThrottled`, :class:`NotAnAdmin` for the right password of a customer, and
    :class:`ServiceUnavailable` if no hashing slot frees up in time."""
    user = await _check_password(
        session=session,
        passwords=passwords,
        email=email,
        password=password,
        client_address=client_address,
        limits=limits,
    )
    if user is None:
        return None
    if not user.is_admin:
        raise NotAnAdmin("This account cannot use the back office.")
    token, token_hash = new_token()
    expires_at = func.now() + timedelta(seconds=ADMIN_SESSION_MAX_SECONDS)
    session.add(AdminSession(user_id=user.id, token_hash=token_hash, expires_at=expires_at))
    await session.commit()
    return token


async def authenticate_admin_session(*, session: AsyncSession, token: str) -> AdminSession | None:
    """The valid back-office session for the cookie's ``token`` (with its user), its idle time restarted; or
    ``None``: unknown, signed out, idle too long, too old, or its user no longer an admin."""
    admin_session = await session.scalar(statements.valid_admin_session(token))
    if admin_session is None:
        return None
    await session.execute(statements.touch_admin_session(admin_session.id))
    await session.commit()
    return admin_session


async def end_admin_session(*, session: AsyncSession, admin_session_id: int) -> None:
    """Sign out: the session stops working at once, on every worker of both apps."""
    await session.execute(statements.revoke_admin_session(admin_session_id))
    await session.commit()


async def set_admin(*, session: AsyncSession, actor: User, user_id: int, is_admin: bool) -> User:
    """Grant or revoke a user's admin right, recorded in the audit trail as the admin ``actor``'s; a revoked
    admin's back-office sessions stop working at their next request. Raises :class:`NotFound`, or
    :class:`OwnAdminRight` if ``actor`` revokes their own."""
    if user_id == actor.id and not is_admin:
        raise OwnAdminRight("You cannot revoke your own admin right.")
    user = await session.scalar(statements.lock_user(user_id))
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    if user.is_admin != is_admin:
        before, after = {"is_admin": user.is_admin}, {"is_admin": is_admin}
        user.is_admin = is_admin
        action = AuditAction.ADMIN_GRANTED if is_admin else AuditAction.ADMIN_REVOKED
        session.add(AuditEntry.record(actor=actor, action=action, row=user, before=before, after=after))
    await session.commit()
    return user


async def read_dashboard(*, session: AsyncSession) -> back_office.Dashboard:
    """The back office's dashboard figures (:class:`shared.db.back_office.Dashboard`)."""
    orders_today, revenue_cents = (await session.execute(back_office.orders_today())).one()
    unsent, oldest_seconds = (await session.execute(statements.outbox_backlog())).one()
    lowest = (await session.scalars(back_office.lowest_stock())).all()
    return back_office.Dashboard(orders_today, revenue_cents, unsent, oldest_seconds, lowest)
