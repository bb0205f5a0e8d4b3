"""Order confirmations through the transactional outbox.

``place_order`` writes an ``outbox`` row in the order's own transaction. Two things deliver it:

1. right after the response, the :class:`ConfirmationSender` extension runs :func:`send_order_confirmation`
   for the new order's id on a small thread pool, in its own session;
2. if the process died first (or the mailer failed), the row stays unsent, and :func:`run_relay` picks it up:
   every ``SHOP_OUTBOX_RELAY_SECONDS`` it delivers rows older than that interval.

Where the relay runs: in each gunicorn worker, started by gunicorn's ``post_worker_init`` hook and stopped
by ``worker_exit`` (``gunicorn.conf.py``), as the FastAPI app's lifespan runs it in each uvicorn process. So
``create_app()`` starts no thread, and ``flask routes``, ``flask shell`` or a test get no relay. Chosen over a
relay process of its own (``flask shop relay`` can be one) because it needs no extra container to deploy,
scale and watch, and it relays wherever orders are taken. ``flask shop relay --once`` runs one round, e.g.
by hand or from a cron job.

Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so many processes can relay at once without sending a
message twice while it is in flight. Delivery is at least once: a crash between sending and committing
sends that email again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session, sessionmaker

from shared.db import login_throttles, statements
from shared.domain.confirmation import confirmation_email
from shared.domain.order_status import OrderStatus, can_transition
from shared.mailer import Mailer
from shared.observability import metrics
from shared.unavailable import describe, unavailable_reason

log = logging.getLogger("shop.outbox")

RELAY_BATCH = 100
NOT_SENT = "confirmation of order %d not sent (%s); the relay will retry"
RELAY_STOP_TIMEOUT_SECONDS = 10  # within gunicorn's graceful_timeout (30 s)


def deliver_order_confirmation(*, sessionmaker: sessionmaker[Session], mailer: Mailer, order_id: int) -> bool:
    """Send the order's confirmation and mark the order ``confirmed``, in one transaction.

    Returns False if there was nothing to do (already sent, or another process holds the row). A cancelled
    order's message is marked sent without mailing. A mailer error is logged as a warning and counted in
    ``outbox.attempts``; the relay retries later. Each outcome is counted in
    ``shop_order_confirmations_total`` (:mod:`shared.observability.metrics`).
    """
    with sessionmaker() as session:
        message = session.scalar(statements.claim_confirmation(order_id))
        if message is None:
            return False
        message_id = message.id  # a rollback expires ORM objects; read the id while it is loaded
        order = session.scalars(statements.lock_order_status(order_id)).one()
        result = "skipped"  # a cancelled order's message is marked sent, not mailed
        if can_transition(order.status, OrderStatus.CONFIRMED):
            try:
                mailer.send(confirmation_email(message.payload))
            except Exception as exc:
                log.warning(NOT_SENT, order_id, describe(exc))
                session.rollback()
                session.execute(statements.count_failed_attempt(message_id))
                session.commit()
                metrics.ORDER_CONFIRMATIONS.labels(result="failed").inc()
                return False
            order.mark_confirmed()
            session.execute(statements.notify_order_status(order_id))  # flushes the UPDATE first
            result = "sent"
        message.mark_sent()
        session.commit()
        metrics.ORDER_CONFIRMATIONS.labels(result=result).inc()
        return True


def send_order_confirmation(*, sessionmaker: sessionmaker[Session], mailer: Mailer, order_id: int) -> None:
    """:func:`deliver_order_confirmation`, run after the response. A failure (the database went away since
    the order committed) is expected and logged once, as a warning: the row stays unsent, for the relay."""
    try:
        deliver_order_confirmation(sessionmaker=sessionmaker, mailer=mailer, order_id=order_id)
    except Exception as exc:
        log.warning(NOT_SENT, order_id, describe(exc))


def relay_pending(*, sessionmaker: sessionmaker[Session], mailer: Mailer, older_than: timedelta) -> int:
    """Deliver unsent confirmations created more than ``older_than`` ago; returns how many were sent."""
    with sessionmaker() as session:
        order_ids = session.scalars(statements.unsent_order_ids(older_than=older_than, limit=RELAY_BATCH))
        pending = list(order_ids)
    sent = 0
    for order_id in pending:
        sent += deliver_order_confirmation(sessionmaker=sessionmaker, mailer=mailer, order_id=order_id)
    return sent


def purge_expired(*, sessionmaker: sessionmaker[Session]) -> None:
    """Delete idempotency keys past their 24 hours (expired ones are already ignored when read), failed
    login counts that block nothing and were last added to a day ago (:mod:`shared.domain.logins`), and
    back-office sessions that have ended."""
    with sessionmaker() as session:
        session.execute(statements.purge_expired_idempotency_keys())
        session.execute(login_throttles.purge_forgotten())
        session.execute(statements.purge_ended_admin_sessions())
        session.commit()


def run_relay(
    *, sessionmaker: sessionmaker[Session], mailer: Mailer, interval_seconds: int, stop: threading.Event
) -> None:
    """Every ``interval_seconds``: relay leftover confirmations, purge expired rows. Runs until ``stop``."""
    interval = timedelta(seconds=interval_seconds)
    while not stop.wait(interval_seconds):
        relay_round(sessionmaker=sessionmaker, mailer=mailer, older_than=interval)


def relay_round(*, sessionmaker: sessionmaker[Session], mailer: Mailer, older_than: timedelta) -> None:
    """One round of the relay; a failure is logged, not raised (the database may be briefly away)."""
    try:
        if sent := relay_pending(sessionmaker=sessionmaker, mailer=mailer, older_than=older_than):
            log.info("relayed %d leftover order confirmations", sent)
        purge_expired(sessionmaker=sessionmaker)
    except Exception as exc:
        if unavailable_reason(exc) is None:
            log.exception("outbox relay round failed")
        else:
            log.warning("outbox relay round failed (%s); next round in its interval", describe(exc))


class ConfirmationSender:
    """Flask extension: sends order confirmations after the response, off the request's thread, and runs the
    outbox relay where the server runs.

    Why a thread pool rather than ``response.call_on_close``: a callback on close would hold one of
    gunicorn's request threads while the mailer talks to SMTP; two dedicated threads keep request
    capacity for requests. The pool starts its threads on the first confirmation, in the process that
    serves it (a gunicorn worker, after the fork).
    """

    def init_app(self, app: Flask) -> None:
        app.extensions["shop.confirmations"] = _SenderState(
            sessionmaker=app.extensions["shop.sessionmaker"],
            mailer=app.config["MAILER"],
            relay_seconds=app.config["SHOP_SETTINGS"].outbox_relay_seconds,
        )
        app.cli.add_command(cli)

    def submit(self, order_id: int) -> None:
        """Queue the confirmation of a committed order; returns at once."""
        state = _state(current_app)
        state.executor.submit(
            send_order_confirmation, sessionmaker=state.sessionmaker, mailer=state.mailer, order_id=order_id
        )

    def start_relay(self, app: Flask) -> None:
        """Run :func:`run_relay` on a daemon thread of this process until :meth:`shutdown`."""
        state = _state(app)
        relay = threading.Thread(
            target=run_relay,
            kwargs={
                "sessionmaker": state.sessionmaker,
                "mailer": state.mailer,
                "interval_seconds": state.relay_seconds,
                "stop": state.stop,
            },
            name="outbox-relay",
            daemon=True,
        )
        relay.start()
        state.relay = relay

    def shutdown(self, app: Flask) -> None:
        """Wait for queued confirmations, and for the relay to finish its round (at most
        ``RELAY_STOP_TIMEOUT_SECONDS``; what it did not send stays for the next relay)."""
        state = _state(app)
        state.stop.set()
        state.executor.shutdown(wait=True)
        if state.relay is not None:
            state.relay.join(timeout=RELAY_STOP_TIMEOUT_SECONDS)


@dataclass
class _SenderState:
    sessionmaker: sessionmaker[Session]
    mailer: Mailer
    relay_seconds: int
    # ThreadPoolExecutor starts a thread only when work is submitted
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="confirmations")
    )
    stop: threading.Event = field(default_factory=threading.Event)
    relay: threading.Thread | None = None


def _state(app: Flask) -> _SenderState:
    state: _SenderState = app.extensions["shop.confirmations"]
    return state


cli = AppGroup("shop", help="The shop's own commands.")


@cli.command("relay")
@click.option("--once", is_flag=True, help="Run one round and exit, instead of one every interval.")
@click.option(
    "--older-than",
    type=click.IntRange(min=0),
    help="With --once: deliver rows older than this many seconds (default: SHOP_OUTBOX_RELAY_SECONDS).",
)
def relay_command(once: bool, older_than: int | None) -> None:
    """Deliver leftover order confirmations and purge expired idempotency keys (the outbox relay)."""
    if older_than is not None and not once:
        raise click.UsageError("--older-than goes with --once")
    state = _state(current_app)
    if once:
        age = timedelta(seconds=state.relay_seconds if older_than is None else older_than)
        relay_round(sessionmaker=state.sessionmaker, mailer=state.mailer, older_than=age)
        return
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the command quietly
        run_relay(
            sessionmaker=state.sessionmaker,
            mailer=state.mailer,
            interval_seconds=state.relay_seconds,
            stop=state.stop,
        )
