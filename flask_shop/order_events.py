"""Live order status: ``/api/v1/orders/{order_id}/events``, a WebSocket (its protocol:
:mod:`shared.http.sockets`), on flask-sock, and the fan-out that feeds it.

Each worker keeps one ``LISTEN`` connection (:func:`listen`, on a thread that ``gunicorn.conf.py`` starts
after the fork) on its own psycopg connection, outside the pool: it is held for the worker's life, and it
must reach PostgreSQL itself (``SHOP_LISTEN_DATABASE_URL``), since a pooler in transaction mode cannot carry
``LISTEN``. Each notification goes to the :class:`OrderEventHub`, which puts it on the queue of every socket
watching that order.

A socket is a view that runs for as long as the socket is open, so under gunicorn's threaded worker it holds
one of the worker's request threads (and simple-websocket's reader thread) the whole time. The socket limit
(``SHOP_MAX_SOCKETS_PER_WORKER``) keeps threads for HTTP there; the deployments serve the sockets from a
gunicorn of their own with gevent workers, where a socket costs two greenlets (``gunicorn.conf.py``).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import queue
import threading
import time
from collections.abc import Iterator

import psycopg
from flask import Blueprint, Flask, Response, current_app, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed, Server
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from flask_shop import services
from flask_shop.errors import problem_response
from shared.config import Settings
from shared.domain import order_events
from shared.domain.order_events import OrderEvent
from shared.http import sockets
from shared.http.authorization import bearer_token
from shared.http.inputs import is_db_id
from shared.http.problems import http_problem
from shared.http.sockets import Close, Resync, SocketLimitReached, Watchers
from shared.observability import metrics
from shared.unavailable import ServiceUnavailable, describe

log = logging.getLogger("shop.order_events")

bp = Blueprint("order_events", __name__, url_prefix="/api/v1")  # a plain blueprint: outside the document
sock = Sock()

CLOSE_HANDSHAKE_SECONDS = 1.0  # for the client's close frame after the server's (RFC 6455 §7.1.1)
SWEEP_SECONDS = 1.0  # how often the sweeper looks for clients that left; the listener, at its stop flag


class Signal(enum.Enum):
    """What else a socket's queue carries besides changes and :class:`Resync`."""

    WAKE = enum.auto()  # look at the flags: the client left or spoke, or the server is going away


class ShuttingDown(Exception):
    """The worker is shutting down: a new socket is closed with 1001 at once."""


class Watcher:
    """One socket's place in the hub: its connection, and what waits to be sent to it (at most
    :data:`~shared.http.sockets.SEND_QUEUE_MESSAGES`; one more, and :attr:`too_slow` is set)."""

    def __init__(self, ws: Server) -> None:
        self.ws = ws
        self.queue: queue.Queue[OrderEvent | Resync | Signal] = queue.Queue(sockets.SEND_QUEUE_MESSAGES)
        self.too_slow = False
        self.client_left = False
        self.client_spoke = False
        self.going_away = False

    def offer(self, item: OrderEvent | Resync | Signal) -> None:
        """Queue a change, a :class:`Resync` or a :class:`Signal` without waiting; a full queue marks the
        watcher too slow (a ``WAKE`` needs no place: the socket's thread is busy with the queue, and looks at
        the flags next)."""
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            if item is not Signal.WAKE:
                self.too_slow = True


class OrderEventHub:
    """Flask extension: the worker's sockets, by the order they watch, at most ``max_sockets`` of them; the
    thread that listens for their orders' changes, and the one that sweeps.

    A socket's thread waits on its queue alone: a WSGI view cannot wait on a queue and on its socket at
    once, as a coroutine can (``asyncio.wait``), so the sweeper reads every socket for it, once a second, and
    wakes those whose client left or sent a message, and, once the worker is shutting down, all of them."""

    def __init__(self) -> None:
        self.watchers: Watchers[Watcher] = Watchers(0)  # init_app sets the limit
        self._lock = threading.Lock()  # the request threads admit and leave; the listener publishes
        self._shutting_down = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def max_sockets(self) -> int:
        return self.watchers.limit

    def init_app(self, app: Flask) -> None:
        settings: Settings = app.config["SHOP_SETTINGS"]
        self.watchers.limit = settings.max_sockets_per_worker
        # simple-websocket's server: pings every 20 s, and drops a peer whose pong has not come by the next;
        # a client message may be as large as the {"token": ...} one
        app.config.setdefault(
            "SOCK_SERVER_OPTIONS",
            {
                "ping_interval": sockets.PING_INTERVAL_SECONDS,
                "max_message_size": sockets.MAX_FIRST_MESSAGE_BYTES,
            },
        )
        app.extensions["shop.order_events"] = self
        sock.init_app(app)
        app.register_blueprint(bp)

    @contextlib.contextmanager
    def admit(self, ws: Server) -> Iterator[Watcher]:
        """A place for one socket, for the block; raises :class:`SocketLimitReached` when all are taken, and
        :class:`ShuttingDown` once the worker is."""
        if self._shutting_down.is_set():
            raise ShuttingDown
        watcher = Watcher(ws)
        with self._lock:
            self.watchers.add(watcher)
        metrics.WEBSOCKETS_OPEN.inc()
        try:
            yield watcher
        finally:
            with self._lock:
                self.watchers.remove(watcher)
            metrics.WEBSOCKETS_OPEN.dec()

    def watch(self, watcher: Watcher, order_id: int) -> None:
        """From now on, ``watcher`` hears of every change of order ``order_id``."""
        with self._lock:
            self.watchers.watch(watcher, order_id)

    def publish(self, event: OrderEvent) -> None:
        """Queue ``event`` for every socket watching its order."""
        with self._lock:
            watchers = self.watchers.of_order(event.order_id)
        for watcher in watchers:
            watcher.offer(event)

    def resync(self, sessionmaker: sessionmaker[Session]) -> None:
        """Send every socket its order's current state again, read in one query: changes may have gone
        unheard while the listener was away."""
        with self._lock:
            order_ids = self.watchers.watched_orders()
        if not order_ids:
            return
        with sessionmaker() as session:
            events = services.read_order_events(session=session, order_ids=order_ids)
        for event in events:
            with self._lock:
                watchers = self.watchers.of_order(event.order_id)
            for watcher in watchers:
                watcher.offer(Resync(event))

    def sweep(self) -> None:
        """Read one message of each watching client, and wake the sockets whose client left or sent one
        (after the token the server expects none), so that their threads and places are free, and
        simple-websocket buffers no more of a chatty client's. A socket still waiting for its token is its
        own thread's to read. Once the worker is shutting down, wake every socket to close with 1001."""
        with self._lock:
            watching = self.watchers.watching()
            everyone = list(self.watchers) if self._shutting_down.is_set() else []
        for watcher in watching:
            try:
                if watcher.ws.receive(timeout=0) is None:
                    continue
                watcher.client_spoke = True
            except ConnectionClosed:
                watcher.client_left = True
            watcher.offer(Signal.WAKE)
        for watcher in everyone:
            watcher.going_away = True
            watcher.offer(Signal.WAKE)

    def shutting_down(self) -> None:
        """The worker is shutting down: refuse new sockets, and let the sweeper close the open ones with 1001
        within a second. Only sets a flag, so that it is safe in a signal handler (gunicorn.conf.py calls it
        on SIGTERM; under gevent a handler runs in whichever greenlet is current, lock holder or not)."""
        self._shutting_down.set()

    def start(self, app: Flask) -> None:
        """Run :func:`listen` and the sweeper on daemon threads of this worker until :meth:`shutdown`; neither
        where the worker serves no sockets (``SHOP_MAX_SOCKETS_PER_WORKER=0``)."""
        if not self.max_sockets:
            return
        self._threads = [
            threading.Thread(
                target=listen,
                kwargs={
                    "hub": self,
                    "settings": app.config["SHOP_SETTINGS"],
                    "sessionmaker": app.extensions["shop.sessionmaker"],
                    "stop": self._stop,
                },
                name="order-events-listener",
                daemon=True,
            ),
            threading.Thread(target=self._sweep_until_stopped, name="order-events-sweeper", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def shutdown(self) -> None:
        """Stop the listener and the sweeper (each looks at its stop flag every second)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2 * SWEEP_SECONDS)

    def _sweep_until_stopped(self) -> None:
        while not self._stop.wait(SWEEP_SECONDS):
            try:
                self.sweep()
            except Exception:  # the sweeper must outlive any one socket's failure
                log.exception("the sweep of the live order sockets failed")


def listen(
    *, hub: OrderEventHub, settings: Settings, sessionmaker: sessionmaker[Session], stop: threading.Event
) -> None:
    """Hear :data:`~shared.domain.order_events.CHANNEL` until ``stop`` is set, and publish each event to
    ``hub``.

    A lost connection is opened again as :mod:`shared.domain.order_events` says, and once it is back every
    socket is sent its order's state again (changes may have gone unheard). Any other failure is logged and
    handled the same way: the listener never stops on its own.
    """
    retry_seconds = order_events.LISTENER_RETRY_SECONDS
    heard_before = False
    while not stop.is_set():
        started = time.monotonic()
        try:
            with psycopg.connect(
                settings.listen_database_url,
                autocommit=True,
                connect_timeout=settings.connect_timeout_seconds,
                application_name=order_events.LISTENER_APPLICATION_NAME,
            ) as connection:
                try:
                    _hear(connection, hub, stop, resync=sessionmaker if heard_before else None)
                finally:
                    heard_before = True
        except (psycopg.Error, SQLAlchemyError) as error:
            log.warning("the LISTEN connection on %s failed (%s)", order_events.CHANNEL, describe(error))
        except Exception:
            log.exception("the LISTEN connection on %s failed", order_events.CHANNEL)
        if stop.is_set():
            return
        wait, retry_seconds = order_events.next_retry_seconds(
            retry_seconds, lasted_seconds=time.monotonic() - started
        )
        log.warning("listening on %s again in %g s", order_events.CHANNEL, wait)
        stop.wait(wait)


def _hear(
    connection: psycopg.Connection[object],
    hub: OrderEventHub,
    stop: threading.Event,
    *,
    resync: sessionmaker[Session] | None,
) -> None:
    """Publish what ``connection`` hears until ``stop`` is set or the connection is lost (raised as
    ``psycopg.Error``); first, with ``resync``, send every socket its order's state again (read through that
    session factory)."""
    connection.execute(f"LISTEN {order_events.CHANNEL}")
    log.info("listening on %s", order_events.CHANNEL)
    if resync is not None:
        hub.resync(resync)
    checked = time.monotonic()
    while not stop.is_set():
        for notify in connection.notifies(timeout=SWEEP_SECONDS):  # then looks at stop again
            try:
                hub.publish(OrderEvent.from_payload(notify.payload))
            except ValueError:
                log.exception("ignored a notification on %s", order_events.CHANNEL)
        if time.monotonic() - checked >= order_events.LISTENER_CHECK_SECONDS:
            connection.execute("SELECT 1")
            checked = time.monotonic()


@bp.get("/orders/<order_id>/events")  # Werkzeug matches it for requests that are no WebSocket handshake
def upgrade_required(order_id: str) -> Response:
    """A plain request to the socket's path: 426 Upgrade Required (the socket is no HTTP operation; Werkzeug
    has no exception for 426 to ``abort`` with)."""
    problem = http_problem(426, sockets.UPGRADE_REQUIRED_DETAIL)
    return problem_response(problem, headers=sockets.UPGRADE_REQUIRED_HEADERS)


@sock.route("/orders/<order_id>/events", bp=bp)
def watch_order(ws: Server, order_id: str) -> None:
    """The order's state, then each change of it, as :mod:`shared.http.sockets` says. ``order_id`` is any
    text: one that is no id is refused as an unknown order is, after the token."""
    hub: OrderEventHub = current_app.extensions["shop.order_events"]
    reads = _Reads(current_app.extensions["shop.sessionmaker"])
    try:
        with hub.admit(ws) as watcher:
            if (token := _token(ws)) is None:
                return
            if (user_id := reads.user_id(token)) is None:
                return _close(ws, Close.UNAUTHORIZED)
            if not is_db_id(order_id):
                return _close(ws, Close.NOT_FOUND)
            hub.watch(watcher, int(order_id))  # before the read: a change committed meanwhile is queued
            if (current := reads.order_event(user_id, int(order_id))) is None:
                return _close(ws, Close.NOT_FOUND)
            _relay(ws, watcher, current)
    except SocketLimitReached:
        _close(ws, Close.TRY_AGAIN_LATER)
    except ShuttingDown:
        _close(ws, Close.GOING_AWAY)
    except (ServiceUnavailable, SQLAlchemyError) as error:
        log.warning("a live order socket lost the database (%s)", describe(error))
        _close(ws, Close.UNAVAILABLE)


class _Reads:
    """The socket's reads, each a short session of its own: a socket holds no connection while it waits."""

    def __init__(self, sessionmaker: sessionmaker[Session]) -> None:
        self._sessionmaker = sessionmaker

    def user_id(self, token: str) -> int | None:
        """The token's user, or ``None`` for a token that is unknown, expired or revoked."""
        with self._sessionmaker() as session:
            auth_token = services.authenticate_token(session=session, token=token)
            return None if auth_token is None else auth_token.user_id

    def order_event(self, user_id: int, order_id: int) -> OrderEvent | None:
        """The user's order's current state (``None``: no such order of theirs)."""
        with self._sessionmaker() as session:
            return services.read_order_event(session=session, user_id=user_id, order_id=order_id)


def _token(ws: Server) -> str | None:
    """The bearer token, from the ``Authorization`` header or else the first message; ``None`` once the
    socket is closed for the lack of one."""
    if authorization := request.headers.getlist("Authorization"):
        token = bearer_token(authorization)  # the API's own rules
    else:
        message = ws.receive(timeout=sockets.AUTH_TIMEOUT_SECONDS)
        if message is None:
            _close(ws, Close.TOKEN_TIMEOUT)
            return None
        token = sockets.message_token(message)
    if token is None:
        _close(ws, Close.UNAUTHORIZED)
    return token


def _relay(ws: Server, watcher: Watcher, current: OrderEvent) -> None:
    """Send ``current``, then each change the hub queues that is news and each :class:`Resync`, until a
    final state; stop early when the client leaves or sends a message, or the server shuts down (the sweeper
    wakes the socket for each)."""
    sent = _send(ws, current)
    while not sent.is_final:
        item = watcher.queue.get()
        if watcher.client_left:
            return
        if watcher.client_spoke:
            return _close(ws, Close.UNEXPECTED_MESSAGE)
        if watcher.going_away:
            return _close(ws, Close.GOING_AWAY)
        if watcher.too_slow:
            return _close(ws, Close.TOO_SLOW)
        if isinstance(item, Resync):
            sent = _send(ws, item.event)
        elif isinstance(item, OrderEvent) and item.is_news_after(sent):
            sent = _send(ws, item)
    _close(ws, Close.FINAL)


def _send(ws: Server, event: OrderEvent) -> OrderEvent:
    ws.send(sockets.event_message(event))
    metrics.WEBSOCKET_MESSAGES_SENT.inc()
    return event


def _close(ws: Server, close: Close) -> None:
    """Send the close frame, then wait (a second at most) for the client's, which ends simple-websocket's
    reader thread: a worker shutting down would otherwise close the connection under it, and the thread
    would wait out its 20 s ping timer before the process could exit."""
    metrics.WEBSOCKET_CLOSES.labels(str(close.value)).inc()
    with contextlib.suppress(ConnectionClosed):
        ws.close(reason=close.value, message=close.reason)
    ws.thread.join(timeout=CLOSE_HANDSHAKE_SECONDS)
