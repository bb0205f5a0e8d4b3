"""Order confirmations through the transactional outbox.

``place_order`` writes an ``outbox`` row in the order's own transaction. Two things deliver it:

1. right after the response, the :class:`ConfirmationSender` extension runs :func:`deliver_order_confirmation`
   for the new order's id on a small thread pool, in its own session;
2. if the process died first (or the mailer failed), the row stays unsent, and :func:`run_relay`, on a thread
   the same extension starts in every worker process, picks it up: every ``SHOP_OUTBOX_RELAY_SECONDS`` it
   delivers rows older than that interval.

Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so many processes can relay at once without sending a
message twice while it is in flight. Delivery is at least once: a crash between sending and committing
sends that email again.
"""

from __future__ import annotations

import atexit
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.domain import OrderStatus, can_transition
from shared.mailer import CONFIRMATION_TOPIC, Mailer, confirmation_email
from shared.models import IdempotencyKey, Order, OutboxMessage

log = logging.getLogger("shop.outbox")

RELAY_BATCH = 100


def deliver_order_confirmation(*, sessionmaker: sessionmaker[Session], mailer: Mailer, order_id: int) -> bool:
    """Send the order's confirmation and mark the order ``confirmed``, in one transaction.

    Returns False if there was nothing to do (already sent, or another process holds the row). A cancelled
    order's message is marked sent without mailing. Mailer errors are logged and counted in
    ``outbox.attempts``; the relay retries later.
    """
    with sessionmaker() as session:
        message = session.scalar(
            select(OutboxMessage)
            .where(
                OutboxMessage.order_id == order_id,
                OutboxMessage.topic == CONFIRMATION_TOPIC,
                OutboxMessage.sent_at.is_(None),
            )
            .with_for_update(skip_locked=True)
        )
        if message is None:
            return False
        message_id = message.id  # a rollback expires ORM objects; read the id while it is loaded
        order = session.get_one(Order, order_id, with_for_update=True)
        if can_transition(order.status, OrderStatus.CONFIRMED):
            try:
                mailer.send(confirmation_email(message.payload))
            except Exception:
                log.exception("confirmation for order %d failed; the relay will retry", order_id)
                session.rollback()
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id)
                    .values(attempts=OutboxMessage.attempts + 1)
                )
                session.commit()
                return False
            order.status = OrderStatus.CONFIRMED
            order.confirmed_at = func.now()
        message.sent_at = func.now()
        message.attempts += 1
        session.commit()
        return True


def relay_pending(*, sessionmaker: sessionmaker[Session], mailer: Mailer, older_than: timedelta) -> int:
    """Deliver unsent confirmations created more than ``older_than`` ago; returns how many were sent."""
    with sessionmaker() as session:
        order_ids = session.scalars(
            select(OutboxMessage.order_id)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.created_at < func.now() - older_than)
            .order_by(OutboxMessage.created_at)
            .limit(RELAY_BATCH)
        )
        pending = list(order_ids)
    sent = 0
    for order_id in pending:
        sent += deliver_order_confirmation(sessionmaker=sessionmaker, mailer=mailer, order_id=order_id)
    return sent


def purge_expired_idempotency_keys(*, sessionmaker: sessionmaker[Session]) -> None:
    """Delete idempotency keys past their 24 hours (expired ones are already ignored when read)."""
    with sessionmaker() as session:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= func.now()))
        session.commit()


def run_relay(
    *, sessionmaker: sessionmaker[Session], mailer: Mailer, interval_seconds: int, stop: threading.Event
) -> None:
    """Every ``interval_seconds``: relay leftover confirmations, purge expired keys. Runs until ``stop``."""
    interval = timedelta(seconds=interval_seconds)
    while not stop.wait(interval_seconds):
        try:
            if sent := relay_pending(sessionmaker=sessionmaker, mailer=mailer, older_than=interval):
                log.info("relayed %d leftover order confirmations", sent)
            purge_expired_idempotency_keys(sessionmaker=sessionmaker)
        except Exception:  # the database may be briefly away; try again next round
            log.exception("outbox relay round failed")


class ConfirmationSender:
    """Flask extension: sends order confirmations after the response, off the request's thread.

    Why a thread pool rather than ``response.call_on_close``: a callback on close would hold one of
    gunicorn's request threads while the mailer talks to SMTP; two dedicated threads keep request
    capacity for requests. The pool and the relay thread start with the app (in each gunicorn worker, after
    the fork) and stop at interpreter exit, letting queued confirmations finish.
    """

    def init_app(self, app: Flask) -> None:
        settings = app.config["SHOP_SETTINGS"]
        state = _SenderState(
            sessionmaker=app.extensions["shop.sessionmaker"],
            mailer=app.config["MAILER"],
            executor=ThreadPoolExecutor(max_workers=2, thread_name_prefix="confirmations"),
            stop=threading.Event(),
        )
        relay = threading.Thread(
            target=run_relay,
            kwargs={
                "sessionmaker": state.sessionmaker,
                "mailer": state.mailer,
                "interval_seconds": settings.outbox_relay_seconds,
                "stop": state.stop,
            },
            name="outbox-relay",
            daemon=True,
        )
        relay.start()
        atexit.register(state.shutdown)
        app.extensions["shop.confirmations"] = state

    def submit(self, order_id: int) -> None:
        """Queue the confirmation of a committed order; returns at once."""
        state: _SenderState = current_app.extensions["shop.confirmations"]
        future = state.executor.submit(
            deliver_order_confirmation,
            sessionmaker=state.sessionmaker,
            mailer=state.mailer,
            order_id=order_id,
        )
        future.add_done_callback(_log_failure)


@dataclass
class _SenderState:
    sessionmaker: sessionmaker[Session]
    mailer: Mailer
    executor: ThreadPoolExecutor
    stop: threading.Event

    def shutdown(self) -> None:
        self.stop.set()
        self.executor.shutdown(wait=True)


def _log_failure(future: Future[bool]) -> None:
    if (exc := future.exception()) is not None:
        log.error("order confirmation failed; the relay will retry", exc_info=exc)
