"""Live order status: ``/api/v1/orders/{order_id}/events``, a WebSocket (its protocol:
:mod:`shared.http.sockets`), and the fan-out that feeds it.

Each process keeps one ``LISTEN`` connection (:func:`listen`, a task of the lifespan) on its own asyncpg
connection, outside the pool: it is held for the process's life, and it must reach PostgreSQL itself
(``SHOP_LISTEN_DATABASE_URL``), since a pooler in transaction mode cannot carry ``LISTEN``. Each
notification goes to the :class:`OrderEventHub`, which puts it on the queue of every socket watching that
order. A socket is an ``async def`` route like any other: while it waits, it costs its task and its queue,
no thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, WebSocket, WebSocketDisconnect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from fastapi_shop import services
from fastapi_shop.db import PoolQueue, PoolQueueDep
from fastapi_shop.resources import SessionmakerDep
from shared.config import Settings
from shared.domain import order_events
from shared.domain.order_events import OrderEvent
from shared.http import sockets
from shared.http.authorization import bearer_token
from shared.http.inputs import is_db_id
from shared.http.sockets import Close, Resync, SocketLimitReached, Watchers
from shared.observability import metrics
from shared.unavailable import ServiceUnavailable, describe

log = logging.getLogger("shop.order_events")

router = APIRouter(prefix="/api/v1")

# how a lost database shows: the listener's own connection (asyncpg), or the resync's read (SQLAlchemy)
LOST = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, SQLAlchemyError)


class Watcher:
    """One socket's place in the hub: what waits to be sent to it (at most
    :data:`~shared.http.sockets.SEND_QUEUE_MESSAGES`; one more, and :attr:`too_slow` is set)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[OrderEvent | Resync] = asyncio.Queue(sockets.SEND_QUEUE_MESSAGES)
        self.too_slow = False

    def offer(self, item: OrderEvent | Resync) -> None:
        """Queue a change or a :class:`Resync` without waiting; a full queue marks the watcher too slow."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.too_slow = True


class OrderEventHub:
    """The process's sockets, by the order they watch, at most ``max_sockets`` of them."""

    def __init__(self, max_sockets: int) -> None:
        self.watchers: Watchers[Watcher] = Watchers(max_sockets)

    @property
    def max_sockets(self) -> int:
        return self.watchers.limit

    @contextlib.contextmanager
    def admit(self) -> Iterator[Watcher]:
        """A place for one socket, for the block; raises :class:`SocketLimitReached` when all are taken."""
        watcher = Watcher()
        self.watchers.add(watcher)
        metrics.WEBSOCKETS_OPEN.inc()
        try:
            yield watcher
        finally:
            self.watchers.remove(watcher)
            metrics.WEBSOCKETS_OPEN.dec()

    def watch(self, watcher: Watcher, order_id: int) -> None:
        """From now on, ``watcher`` hears of every change of order ``order_id``."""
        self.watchers.watch(watcher, order_id)

    def publish(self, event: OrderEvent) -> None:
        """Queue ``event`` for every socket watching its order."""
        for watcher in self.watchers.of_order(event.order_id):
            watcher.offer(event)

    async def resync(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Send every socket its order's current state again, read in one query: changes may have gone
        unheard while the listener was away."""
        if not (order_ids := self.watchers.watched_orders()):
            return
        async with sessionmaker() as session:
            events = await services.read_order_events(session=session, order_ids=order_ids)
        for event in events:
            for watcher in self.watchers.of_order(event.order_id):
                watcher.offer(Resync(event))


async def listen(
    *, hub: OrderEventHub, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Hear :data:`~shared.domain.order_events.CHANNEL` for the process's life, and publish each event to
    ``hub``; runs until cancelled (the lifespan's end).

    A lost connection is opened again as :mod:`shared.domain.order_events` says, and once it is back every
    socket is sent its order's state again (changes may have gone unheard). Any other failure is logged and
    handled the same way: the listener never stops on its own.
    """
    retry_seconds = order_events.LISTENER_RETRY_SECONDS
    heard_before = False
    while True:
        started = time.monotonic()
        try:
            connection = await asyncpg.connect(
                settings.listen_database_url,
                timeout=settings.connect_timeout_seconds,
                server_settings={"application_name": order_events.LISTENER_APPLICATION_NAME},
            )
            try:
                await _hear(connection, hub, resync=sessionmaker if heard_before else None)
            finally:
                heard_before = True
                connection.terminate()
        except (
            OSError,
            TimeoutError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            SQLAlchemyError,
        ) as error:
            log.warning("the LISTEN connection on %s failed (%s)", order_events.CHANNEL, describe(error))
        except Exception:
            log.exception("the LISTEN connection on %s failed", order_events.CHANNEL)
        wait, retry_seconds = order_events.next_retry_seconds(
            retry_seconds, lasted_seconds=time.monotonic() - started
        )
        log.warning("listening on %s again in %g s", order_events.CHANNEL, wait)
        await asyncio.sleep(wait)


async def _hear(
    connection: asyncpg.Connection,
    hub: OrderEventHub,
    *,
    resync: async_sessionmaker[AsyncSession] | None,
) -> None:
    """Publish what ``connection`` hears until it is lost; first, with ``resync``, send every socket its
    order's state again (read through that session factory)."""
    lost = asyncio.Event()
    connection.add_termination_listener(lambda _connection: lost.set())
    await connection.add_listener(
        order_events.CHANNEL, lambda _connection, _pid, _channel, payload: _publish(hub, payload)
    )
    log.info("listening on %s", order_events.CHANNEL)
    if resync is not None:
        await hub.resync(resync)
    while not lost.is_set():
        try:
            await asyncio.wait_for(lost.wait(), order_events.LISTENER_CHECK_SECONDS)
        except TimeoutError:
            await connection.fetchval("SELECT 1", timeout=order_events.LISTENER_CHECK_SECONDS)


def _publish(hub: OrderEventHub, payload: str) -> None:
    try:
        hub.publish(OrderEvent.from_payload(payload))
    except ValueError:
        log.exception("ignored a notification on %s", order_events.CHANNEL)


async def get_hub(connection: HTTPConnection) -> OrderEventHub:
    """The process's :class:`OrderEventHub` (created by the lifespan)."""
    hub: OrderEventHub = connection.app.state.order_event_hub
    return hub


HubDep = Annotated[OrderEventHub, Depends(get_hub)]


@router.get("/orders/{order_id}/events", include_in_schema=False, status_code=426)
async def upgrade_required(order_id: str) -> None:
    """A plain request to the socket's path: 426 Upgrade Required (the socket is no HTTP operation)."""
    raise HTTPException(426, sockets.UPGRADE_REQUIRED_DETAIL, headers=sockets.UPGRADE_REQUIRED_HEADERS)


@router.websocket("/orders/{order_id}/events")
async def watch_order(
    websocket: WebSocket, order_id: str, hub: HubDep, sessionmaker: SessionmakerDep, pool_queue: PoolQueueDep
) -> None:
    """The order's state, then each change of it, as :mod:`shared.http.sockets` says. ``order_id`` is any
    text: one that is no id is refused as an unknown order is, after the token."""
    await websocket.accept()
    reads = _Reads(sessionmaker, pool_queue)
    try:
        with hub.admit() as watcher:
            if (token := await _token(websocket)) is None:
                return
            if (user_id := await reads.user_id(token)) is None:
                return await _close(websocket, Close.UNAUTHORIZED)
            if not is_db_id(order_id):
                return await _close(websocket, Close.NOT_FOUND)
            hub.watch(watcher, int(order_id))  # before the read: a change committed meanwhile is queued
            if (current := await reads.order_event(user_id, int(order_id))) is None:
                return await _close(websocket, Close.NOT_FOUND)
            await _relay(websocket, watcher, current)
    except SocketLimitReached:
        await _close(websocket, Close.TRY_AGAIN_LATER)
    except (ServiceUnavailable, SQLAlchemyError) as error:
        log.warning("a live order socket lost the database (%s)", describe(error))
        await _close(websocket, Close.UNAVAILABLE)
    except WebSocketDisconnect:
        pass  # the client left, or the server is shutting down (fastapi_shop.server sent 1001)


class _Reads:
    """The socket's reads, each a short session of its own, taken in turn
    (:class:`~fastapi_shop.db.PoolQueue`): a socket holds no connection while it waits."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], pool_queue: PoolQueue) -> None:
        self._sessionmaker = sessionmaker
        self._pool_queue = pool_queue

    async def user_id(self, token: str) -> int | None:
        """The token's user, or ``None`` for a token that is unknown, expired or revoked."""
        async with self._pool_queue.turn(), self._sessionmaker() as session:
            auth_token = await services.authenticate_token(session=session, token=token)
            return None if auth_token is None else auth_token.user_id

    async def order_event(self, user_id: int, order_id: int) -> OrderEvent | None:
        """The user's order's current state (``None``: no such order of theirs)."""
        async with self._pool_queue.turn(), self._sessionmaker() as session:
            return await services.read_order_event(session=session, user_id=user_id, order_id=order_id)


async def _token(websocket: WebSocket) -> str | None:
    """The bearer token, from the ``Authorization`` header or else the first message; ``None`` once the
    socket is closed for the lack of one."""
    if authorization := websocket.headers.getlist("Authorization"):
        token = bearer_token(authorization)  # the API's own rules
    else:
        try:
            async with asyncio.timeout(sockets.AUTH_TIMEOUT_SECONDS):
                message = await websocket.receive()
        except TimeoutError:
            await _close(websocket, Close.TOKEN_TIMEOUT)
            return None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        token = sockets.message_token(message.get("text") or message.get("bytes") or b"")
    if token is None:
        await _close(websocket, Close.UNAUTHORIZED)
    return token


async def _relay(websocket: WebSocket, watcher: Watcher, current: OrderEvent) -> None:
    """Send ``current``, then each change the hub queues that is news and each :class:`Resync`, until a
    final state; stop early when the client leaves, or sends a message (after the token it sends none)."""
    sent = await _send(websocket, current)
    client = asyncio.create_task(_client_spoke(websocket))
    queued: asyncio.Task[OrderEvent | Resync] | None = None
    try:
        while not sent.is_final:
            queued = asyncio.create_task(watcher.queue.get())
            await asyncio.wait({client, queued}, return_when=asyncio.FIRST_COMPLETED)
            if client.done():
                if client.result():  # it spoke rather than left
                    await _close(websocket, Close.UNEXPECTED_MESSAGE)
                return
            if watcher.too_slow:
                return await _close(websocket, Close.TOO_SLOW)
            if isinstance(item := queued.result(), Resync):
                sent = await _send(websocket, item.event)
            elif item.is_news_after(sent):
                sent = await _send(websocket, item)
        await _close(websocket, Close.FINAL)
    finally:
        for task in (client, queued):
            if task is not None:
                task.cancel()


async def _client_spoke(websocket: WebSocket) -> bool:
    """Wait for the client's next message (``True``) or its leaving (``False``)."""
    message = await websocket.receive()
    return bool(message["type"] != "websocket.disconnect")


async def _send(websocket: WebSocket, event: OrderEvent) -> OrderEvent:
    await websocket.send_text(sockets.event_message(event))
    metrics.WEBSOCKET_MESSAGES_SENT.inc()
    return event


async def _close(websocket: WebSocket, close: Close) -> None:
    metrics.WEBSOCKET_CLOSES.labels(str(close.value)).inc()
    await websocket.close(close.value, close.reason)
