"""Sync SQLAlchemy on psycopg 3: one engine per app, one ``Session`` per request, kept on ``g``.

The session is created on first use and closed in ``teardown_appcontext``, which rolls back whatever was not
committed. Services call ``session.commit()`` themselves.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings


def create_engine(settings: Settings) -> Engine:
    """The process's connection pool; gunicorn.conf.py sizes it to the worker's threads by default.

    Behind a pooler in transaction mode (``SHOP_DB_TRANSACTION_POOLER``) each transaction may run on another
    server connection, where a named prepared statement is missing or its name taken (psycopg's docs,
    "Prepared statements").
    """
    connect_args: dict[str, object] = {"connect_timeout": 5}  # seconds to establish a connection (libpq)
    if settings.transaction_pooler:
        # psycopg then never prepares a statement, however often a query runs (by default: from the 6th time)
        connect_args["prepare_threshold"] = None
    return sa_create_engine(
        settings.url_for_driver("psycopg"),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_pre_ping=True,
        connect_args=connect_args,
        # a failed statement's error text (and so the log) leaves out its parameters: emails, hashes
        hide_parameters=True,
    )


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
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    """Create the engine from ``app.config["SHOP_SETTINGS"]`` and close sessions after each request."""
    engine = create_engine(app.config["SHOP_SETTINGS"])
    app.extensions["shop.engine"] = engine
    app.extensions["shop.sessionmaker"] = create_sessionmaker(engine)
    app.teardown_appcontext(close_session)
