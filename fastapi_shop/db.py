"""Async SQLAlchemy on asyncpg: one engine per process, one ``AsyncSession`` per request.

The session dependency only opens and closes: services call ``await session.commit()`` themselves, and
whatever they did not commit is rolled back when the session closes (code after ``yield`` runs after the
response has been sent, so it must not commit).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from fastapi_shop.resources import PoolQueueDep, SessionmakerDep
from shared.config import Settings
from shared.unavailable import describe, unavailable_reason

log = logging.getLogger("shop.db")


def create_engine(settings: Settings) -> AsyncEngine:
    """The process's connection pool (``SHOP_DB_POOL_SIZE`` + ``SHOP_DB_MAX_OVERFLOW`` connections), each
    connection bounded in time (see :mod:`shared.config`).

    A request waits at most ``SHOP_DB_POOL_TIMEOUT_SECONDS`` for a connection, and a connection sets
    PostgreSQL's statement, lock and idle-in-transaction timeouts as it starts (asyncpg's
    ``server_settings``). ``command_timeout`` is asyncpg's own limit on each statement, for a server that
    cannot enforce its timeout (frozen, unreachable). Each of these fails the request with a 503
    (:mod:`shared.unavailable`). ``pool_pre_ping`` replaces a connection the server dropped (a restart) at
    checkout, so a request after a restart does not fail on a stale connection.

    Behind a pooler in transaction mode (``SHOP_DB_TRANSACTION_POOLER``) each transaction may run on another
    server connection, where a named prepared statement is missing or its name taken (asyncpg's FAQ, "Why am
    I getting prepared statement errors?"; SQLAlchemy's asyncpg dialect, "Prepared Statement Cache").
    """
    connect_args: dict[str, object] = {
        "timeout": settings.connect_timeout_seconds,
        "command_timeout": settings.answer_deadline_seconds(),
        "server_settings": settings.session_settings(),
    }
    if settings.transaction_pooler:
        # both statement caches off: asyncpg then uses only the unnamed statement, parsed again for each use
        connect_args |= {"statement_cache_size": 0, "prepared_statement_cache_size": 0}
    return create_async_engine(
        settings.url_for_driver("asyncpg"),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        pool_pre_ping=True,
        connect_args=connect_args,
        # a failed statement's error text (and so the log) leaves out its parameters: emails, hashes
        hide_parameters=True,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without lazy I/O (impossible in async)
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(sessionmaker: SessionmakerDep, pool_queue: PoolQueueDep) -> AsyncIterator[AsyncSession]:
    """Yield the request's session in its turn (:class:`~fastapi_shop.pool_queue.PoolQueue`);
    closing it rolls back anything left uncommitted. The turn lasts until the response has been sent and
    its background tasks have run: an order's confirmation takes its connection within the same turn."""
    async with pool_queue.turn():
        session = sessionmaker()
        try:
            yield session
        finally:
            await close_session(session)


async def close_session(session: AsyncSession) -> None:
    """Close ``session``: its connection goes back to the pool, rolled back.

    This runs after the response has been sent. If the database went away meanwhile, the rollback fails:
    the client already has its answer and nothing was committed, so that is one warning, and the
    connection is invalidated (closed and never reused). Raised from here, the error would reach the
    server as a failure of a finished response, and uvicorn would drop the client's connection.
    """
    try:
        await session.close()
    except (SQLAlchemyError, OSError) as error:
        if unavailable_reason(error) is None:
            raise
        log.warning(
            "the request's session did not close cleanly (%s); its connection is discarded", describe(error)
        )
        await session.invalidate()


SessionDep = Annotated[AsyncSession, Depends(get_session)]
