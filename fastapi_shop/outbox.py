"""Order confirmations through the transactional outbox.

``place_order`` writes an ``outbox`` row in the order's own transaction. Two things deliver it:

1. right after the response, a ``BackgroundTasks`` task, :func:`send_order_confirmation`, delivers it, in
   its own session;
2. if the process died first (or the mailer failed), the row stays unsent, and :func:`run_relay`, started by
   the app's lifespan in every process, picks it up: every ``SHOP_OUTBOX_RELAY_SECONDS`` it delivers rows
   older than that interval.

Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so many processes can relay at once without sending a
message twice while it is in flight. Delivery is at least once: a crash between sending and committing
sends that email again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import login_throttles, statements
from shared.domain.confirmation import confirmation_email
from shared.domain.order_status import OrderStatus, can_transition
from shared.mailer import Mailer
from shared.observability import metrics
from shared.unavailable import describe, unavailable_reason

log = logging.getLogger("shop.outbox")

RELAY_BATCH = 100
NOT_SENT = "confirmation of order %d not sent (%s); the relay will retry"


async def deliver_order_confirmation(
    *, sessionmaker: async_sessionmaker[AsyncSession], mailer: Mailer, order_id: int
) -> bool:
    """Send the order's confirmation and mark the order ``confirmed``, in one transaction.

    Returns False if there was nothing to do (already sent, or another process holds the row). A cancelled
    order's message is marked sent without mailing. A mailer error is logged as a warning and counted in
    ``outbox.attempts``; the relay retries later. Each outcome is counted in
    ``shop_order_confirmations_total`` (:mod:`shared.observability.metrics`).
    """
    async with sessionmaker() as session:
        message = await session.scalar(statements.claim_confirmation(order_id))
        if message is None:
            return False
        message_id = message.id  # a rollback expires ORM objects; async sessions cannot lazy-load them
        order = (await session.scalars(statements.lock_order_status(order_id))).one()
        result = "skipped"  # a cancelled order's message is marked sent, not mailed
        if can_transition(order.status, OrderStatus.CONFIRMED):
            try:
                # a mailer may block (SMTP): in a worker thread, so the event loop keeps serving
                await asyncio.to_thread(mailer.send, confirmation_email(message.payload))
            except Exception as exc:
                log.warning(NOT_SENT, order_id, describe(exc))
                await session.rollback()
                await session.execute(statements.count_failed_attempt(message_id))
                await session.commit()
                metrics.ORDER_CONFIRMATIONS.labels(result="failed").inc()
                return False
            order.mark_confirmed()
            await session.execute(statements.notify_order_status(order_id))  # flushes the UPDATE first
            result = "sent"
        message.mark_sent()
        await session.commit()
        metrics.ORDER_CONFIRMATIONS.labels(result=result).inc()
        return True


async def send_order_confirmation(
    *, sessionmaker: async_sessionmaker[AsyncSession], mailer: Mailer, order_id: int
) -> None:
    """:func:`deliver_order_confirmation`, run after the response. A failure (the database went away since
    the order committed) is expected and logged once, as a warning: the row stays unsent, for the relay.
    Raised, it would reach the server as an error of a request that already got its 201."""
    try:
        await deliver_order_confirmation(sessionmaker=sessionmaker, mailer=mailer, order_id=order_id)
    except Exception as exc:
        log.warning(NOT_SENT, order_id, describe(exc))


async def relay_pending(
    *, sessionmaker: async_sessionmaker[AsyncSession], mailer: Mailer, older_than: timedelta
) -> int:
    """Deliver unsent confirmations created more than ``older_than`` ago; returns how many were sent."""
    async with sessionmaker() as session:
        order_ids = await session.scalars(
            statements.unsent_order_ids(older_than=older_than, limit=RELAY_BATCH)
        )
        pending = list(order_ids)
    sent = 0
    for order_id in pending:
        sent += await deliver_order_confirmation(sessionmaker=sessionmaker, mailer=mailer, order_id=order_id)
    return sent


async def purge_expired(*, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Delete idempotency keys past their 24 hours (expired ones are already ignored when read), failed
    login counts that block nothing and were last added to a day ago (:mod:`shared.domain.logins`), and
    back-office sessions that have ended."""
    async with sessionmaker() as session:
        await session.execute(statements.purge_expired_idempotency_keys())
        await session.execute(login_throttles.purge_forgotten())
        await session.execute(statements.purge_ended_admin_sessions())
        await session.commit()


async def run_relay(
    *, sessionmaker: async_sessionmaker[AsyncSession], mailer: Mailer, interval_seconds: int
) -> None:
    """Every ``interval_seconds``: relay leftover confirmations, purge expired rows. Runs until cancelled."""
    interval = timedelta(seconds=interval_seconds)
    while True:
        await asyncio.sleep(interval_seconds)
        await relay_round(sessionmaker=sessionmaker, mailer=mailer, older_than=interval)


async def relay_round(
    *, sessionmaker: async_sessionmaker[AsyncSession], mailer: Mailer, older_than: timedelta
) -> None:
    """One round of the relay; a failure is logged, not raised (the database may be briefly away)."""
    try:
        if sent := await relay_pending(sessionmaker=sessionmaker, mailer=mailer, older_than=older_than):
            log.info("relayed %d leftover order confirmations", sent)
        await purge_expired(sessionmaker=sessionmaker)
    except Exception as exc:
        if unavailable_reason(exc) is None:
            log.exception("outbox relay round failed")
        else:
            log.warning("outbox relay round failed (%s); next round in its interval", describe(exc))
