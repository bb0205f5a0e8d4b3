"""Sync SQLAlchemy on psycopg 3: one engine per app, one ``Session`` per request, kept on ``g``.

The session is created on first use and closed in ``teardown_appcontext``, which rolls back whatever was not
committed. Services call ``session.commit()`` themselves.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from flask import Flask, current_app, g
from psycopg.abc import RV, PQGen
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.unavailable import describe, unavailable_reason

log = logging.getLogger("shop.db")


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection that waits at most ``answer_deadline_seconds`` for any answer of the server.

    PostgreSQL enforces its own statement timeout, but a server that is frozen or cut off cannot, and
    psycopg's blocking calls have no limit of their own: a request thread would wait for as long as the
    server is away. ``wait`` is where psycopg waits for the server on an open connection; on timeout
    (psycopg's ``_WaitTimeout``) the connection's state is unknown, so it is closed, which SQLAlchemy
    sees as a disconnect and replaces.
    """

    answer_deadline_seconds: float | None = None

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        deadline = self.answer_deadline_seconds if timeout is None else timeout
        try:
            return super().wait(gen, interval, deadline)
        except psycopg.errors._WaitTimeout:
            self.close()
            raise psycopg.OperationalError(f"the server sent no answer within {deadline} s") from None


def create_engine(settings: Settings) -> Engine:
    """The process's connection pool (gunicorn.conf.py sizes it to the worker's threads by default), each
    connection bounded in time (see :mod:`shared.config`).

    A request waits at most ``SHOP_DB_POOL_TIMEOUT_SECONDS`` for a connection, and a connection sets
    PostgreSQL's statement, lock and idle-in-transaction timeouts as it starts (libpq's ``options``).
    :class:`DeadlineConnection` bounds each wait for the server, for a server that cannot enforce its
    timeout (frozen, unreachable). Each of these fails the request with a 503
    (:mod:`shared.unavailable`). ``pool_pre_ping`` replaces a connection the server dropped (a restart)
    at checkout, so a request after a restart does not fail on a stale connection.

    Behind a pooler in transaction mode (``SHOP_DB_TRANSACTION_POOLER``) each transaction may run on another
    server connection, where a named prepared statement is missing or its name taken (psycopg's docs,
    "Prepared statements").
    """
    connect_args: dict[str, object] = {"connect_timeout": settings.connect_timeout_seconds}
    if options := settings.session_settings():
        connect_args["options"] = " ".join(f"-c {name}={value}" for name, value in options.items())
    if settings.transaction_pooler:
        # psycopg then never prepares a statement, however often a query runs (by default: from the 6th time)
        connect_args["prepare_threshold"] = None
    engine = sa_create_engine(
        settings.url_for_driver("psycopg"),
        connect_args=connect_args,
        **settings.engine_options(),
    )
    deadline = settings.answer_deadline_seconds()

    @event.listens_for(engine, "do_connect")
    def connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> DeadlineConnection:
        connection = DeadlineConnection.connect(*cargs, **cparams)
        connection.answer_deadline_seconds = deadline
        return connection

    return engine


def create_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects stay readable after commit, as in the FastAPI app
    return sessionmaker(engine, expire_on_commit=False)


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["shop.sessionmaker"]()
    session: Session = g.db_session
    return session


def close_session(exc: BaseException | None = None) -> None:
    """Close the request's session, if it opened one: its connection goes back to the pool, rolled back.

    This runs after the view has made the response. If the database went away meanwhile, the rollback
    fails: the client's answer is already decided and nothing was committed, so that is one warning, and
    the connection is invalidated (closed and never reused) rather than the response turned into a 500.
    """
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()
    except SQLAlchemyError as error:
        if unavailable_reason(error) is None:
            raise
        log.warning(
            "the request's session did not close cleanly (%s); its connection is discarded", describe(error)
        )
        session.invalidate()


def init_app(app: Flask) -> None:
    """Create the engine from ``app.config["SHOP_SETTINGS"]`` and close sessions after each request."""
    engine = create_engine(app.config["SHOP_SETTINGS"])
    app.extensions["shop.engine"] = engine
    app.extensions["shop.sessionmaker"] = create_sessionmaker(engine)
    app.teardown_appcontext(close_session)
