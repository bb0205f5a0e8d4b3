"""First come, first served at the connection pool, for an async server that takes every request it is sent.

:class:`PoolQueue` is held by the request's session dependency (:func:`fastapi_shop.db.get_session`). The
Flask app has no counterpart: see the class.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from shared.config import Settings
from shared.unavailable import ServiceUnavailable


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
