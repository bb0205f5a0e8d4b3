"""What the tests share: throwaway databases; mailers that record, fail or take their time; database reads."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import psycopg
from psycopg import sql
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shared.db.models import IdempotencyKey, Order, OutboxMessage


@contextlib.contextmanager
def new_database(postgres_url: str) -> Iterator[str]:
    """A new, empty database on the cluster at ``postgres_url``, dropped afterwards; yields its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def failing_inserts(session: Session, table: str) -> Iterator[str]:
    """Every INSERT into ``table`` fails with a database error (a trigger raises) while inside; yields the
    error's message. For tests of what an unexpected failure shows: the apps answer 500."""
    message = "injected failure for a test"
    session.execute(text(f"""
        CREATE FUNCTION test_fail_insert() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN RAISE EXCEPTION '{message}'; END $$;
        CREATE TRIGGER test_fail_insert BEFORE INSERT ON {table}
        FOR EACH ROW EXECUTE FUNCTION test_fail_insert();
    """))  # fmt: skip
    session.commit()
    try:
        yield message
    finally:
        session.execute(text(f"DROP TRIGGER test_fail_insert ON {table}; DROP FUNCTION test_fail_insert();"))
        session.commit()


class RecordingMailer:
    """Keeps every message it sends; while ``down``, refuses them as an unreachable SMTP server would.

    Thread-safe (Flask sends from a thread pool). ``seconds_per_message`` makes sending slow, so that
    concurrent relays overlap.
    """

    def __init__(self, *, seconds_per_message: float = 0.0) -> None:
        self.down = False
        self.seconds_per_message = seconds_per_message
        self.sent: list[EmailMessage] = []
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        if self.down:
            raise ConnectionRefusedError("the mail server is down")
        time.sleep(self.seconds_per_message)
        with self._lock:
            self.sent.append(message)

    def order_ids(self) -> list[int]:
        """The order number of each message sent, in sending order (read from ``Subject``)."""
        with self._lock:
            return [int(str(message["Subject"]).split("#")[1].split()[0]) for message in self.sent]


def outbox_row(database: Session, order_id: int) -> OutboxMessage:
    """The order's confirmation row, as committed now."""
    database.expire_all()
    return database.scalars(select(OutboxMessage).where(OutboxMessage.order_id == order_id)).one()


def order_row(database: Session, order_id: int) -> Order:
    """The order, as committed now."""
    database.expire_all()
    return database.get_one(Order, order_id)


def idempotency_keys(database: Session, user_id: int) -> list[str]:
    """The user's stored idempotency keys, sorted."""
    return sorted(database.scalars(select(IdempotencyKey.key).where(IdempotencyKey.user_id == user_id)))


def expire_idempotency_key(database: Session, user_id: int, key: str) -> None:
    """Age the user's stored key past its 24 hours."""
    database.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(expires_at=func.now() - timedelta(seconds=1))
    )
    database.commit()
