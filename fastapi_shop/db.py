"""Async SQLAlchemy on asyncpg: one engine per process, one ``AsyncSession`` per request.

The session dependency only opens and closes: services call ``await session.commit()`` themselves, and
whatever they did not commit is rolled back when the session closes (code after ``yield`` runs after the
response has been sent, so it must not commit).

Requests take their session in turn, first come, first served (:class:`PoolQueue`): parity plumbing, named in
the README's table, which the Flask app does not need.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from starlette.requests import HTTPConnection

from fastapi_shop.resources import SessionmakerDep
from shared.config import Settings
from shared.unavailable import ServiceUnavailable, describe, unavailable_reason

log = logging.getLogger("shop.db")


def create_engine(settings: Settings) -> AsyncEngine:
    """The process's connection pool (``SHOP_DB_POOL_SIZE`` + ``SHOP_DB_MAX_OVERFLOW`` connections), each
    connection bounded in time (see :mod:`shared.config`).

    A request waits at most ``SHOP_DB_POOL_TIMEOUT_SECONDS`` for a connection, and a connection sets
    PostgreSQL's statement, lock and idle-in-transaction timeouts as it starts (asyncpg's
    ``server_settings``). ``command_timeout`` is asyncpg's own limit on each statement, for a server that
    cannot enforce its timeout (frozen, unreachable). Each of these fails the request with a 503
    (:mod:`shared.unavailable`). ``pool_pre_ping`` replaces a connection the server dropped (a restart)
    at checkout, so a request after a restart does not fail on a stale connection.

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
        connect_args=connect_args,
        **settings.engine_options(),
    )


class PoolQueue:
    """First come, first served for the pool: at most ``SHOP_DB_POOL_SIZE + SHOP_DB_MAX_OVERFLOW`` requests
    of this process have a session at once; the others wait in the order they came, each at most
    ``SHOP_DB_POOL_TIMEOUT_SECONDS``, then get a 503 (:class:`ServiceUnavailable`), as a pool timeout does.

    An async server takes every request it is sent, so under load the requests wait at the pool. SQLAlchemy's
    pool does not serve its waiters in order: a connection put back goes to whichever task asks next,
    and a task that waited goes back to the end of the line (sqlalchemy/sqlalchemy#7679). A few requests
    then wait seconds while the rest pass, until they time out. ``asyncio.Semaphore`` hands each release to
    its longest waiter. (Product reads at 32 connections, 8 connections a process: p99 1.0-2.8 s without
    this queue; docs/performance.md.) The Flask app needs none: its request threads are as many as its
    connections, and the requests beyond them wait, in order, in the server's listen queue.

    Only the request's session (:func:`get_session`) waits here. What goes around it takes connections from
    the pool directly, each at most one at a time per process and none of it a request waiting its turn:
    the outbox relay (:mod:`fastapi_shop.outbox`), and ``/readyz`` and ``/metrics``, which must answer while
    requests queue (a probe stuck behind the queue would take an overloaded process out of service).
    """

    def __init__(self, settings: Settings) -> None:
        self._slots = asyncio.Semaphore(settings.pool_size + settings.max_overflow)
        self._timeout_seconds = settings.pool_timeout_seconds

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for this request's turn, and hold it for the block."""
        try:
            async with asyncio.timeout(self._timeout_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise ServiceUnavailable("Every database connection is in use.") from None
        try:
            yield
        finally:
            self._slots.release()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without lazy I/O (impossible in async)
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_pool_queue(connection: HTTPConnection) -> PoolQueue:
    """The order in which this process's requests take pooled connections (created by the app factory)."""
    pool_queue: PoolQueue = connection.app.state.pool_queue
    return pool_queue


PoolQueueDep = Annotated[PoolQueue, Depends(get_pool_queue)]


async def get_session(sessionmaker: SessionmakerDep, pool_queue: PoolQueueDep) -> AsyncIterator[AsyncSession]:
    """Yield the request's session in its turn (:class:`PoolQueue`);
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
