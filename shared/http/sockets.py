"""The live order socket, ``GET /api/v1/orders/{order_id}/events`` upgraded to a WebSocket (RFC 6455): its
limits, how a client authenticates, what it is sent, and the close codes that end it. Both apps follow this
module; docs/api.md is its reader's guide.

1. The server accepts the upgrade, then wants the caller's bearer token: in the ``Authorization`` header
   (non-browser clients), or, since a browser cannot set headers on a WebSocket, as the first message, the
   JSON object ``{"token": "<access token>"}``, within :data:`AUTH_TIMEOUT_SECONDS`. Never in the URL, where
   proxies and logs would keep it.
2. The order must be the caller's. Refusals close the socket with a :class:`Close` code before any order
   state is sent; another user's order and an unknown one are the same refusal.
3. Then :func:`event_message` of the order's current state, and one message per status change, in order.
   After a final state (cancelled) the server closes normally. The client sends nothing more: a message
   after the token closes the socket.

The server pings every :data:`PING_INTERVAL_SECONDS`; a peer that does not answer is dropped. A client that
reads too slowly, with more than :data:`SEND_QUEUE_MESSAGES` messages waiting for it, is dropped too, rather
than buffered without bound.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.domain.order_events import OrderEvent
from shared.http.api import format_timestamp
from shared.http.authorization import bearer_token

AUTH_TIMEOUT_SECONDS = 5.0  # from the accepted upgrade to the first message, when no header has a token
PING_INTERVAL_SECONDS = 20.0  # between the server's pings; a pong must come before the next one
SEND_QUEUE_MESSAGES = 16  # messages waiting for one client; one more, and it is dropped as too slow
MAX_FIRST_MESSAGE_BYTES = 4096  # the {"token": ...} message; a token is 43 characters
EVENTS_PATH = "/api/v1/orders/{order_id}/events"  # the route, as the OpenAPI document would write it
# a plain request to the socket's path: 426 Upgrade Required, naming the protocol (RFC 9110 §15.5.22)
UPGRADE_REQUIRED_DETAIL = "This is a WebSocket: send the upgrade handshake (RFC 6455)."
UPGRADE_REQUIRED_HEADERS = {"Upgrade": "websocket", "Connection": "Upgrade"}


class Close(enum.IntEnum):
    """Why the server closed a socket: the close code (RFC 6455 §7.4; 4000-4999 are the application's own,
    here an HTTP status plus 4000), each with its :attr:`reason`."""

    FINAL = 1000  # normal closure: the order reached a final state
    GOING_AWAY = 1001  # the server is shutting down
    TOO_SLOW = 1008  # policy violation: the client did not read its messages
    UNAVAILABLE = 1011  # the database did not answer a read the socket needed
    TRY_AGAIN_LATER = 1013  # the worker holds its maximum of sockets
    UNEXPECTED_MESSAGE = 4400  # a message after the token, when the server expects none
    UNAUTHORIZED = 4401  # no valid token: missing, malformed, unknown, expired or revoked
    NOT_FOUND = 4404  # no such order of the caller's (another user's order is "no such order" too)
    TOKEN_TIMEOUT = 4408  # no token within AUTH_TIMEOUT_SECONDS

    @property
    def reason(self) -> str:
        """The close frame's reason: short text for a person (at most 123 bytes, RFC 6455 §5.5)."""
        return _REASONS[self]


_REASONS = {
    Close.FINAL: "The order is cancelled: no further change will come.",
    Close.GOING_AWAY: "The server is shutting down; connect again.",
    Close.TOO_SLOW: "The client did not read its messages in time.",
    Close.UNAVAILABLE: "The database is not answering; connect again later.",
    Close.TRY_AGAIN_LATER: "This server holds all the sockets it may; try again later.",
    Close.UNEXPECTED_MESSAGE: "The server expects no message after the token.",
    Close.UNAUTHORIZED: "A valid bearer token is required.",
    Close.NOT_FOUND: "No such order.",
    Close.TOKEN_TIMEOUT: f"No token within {AUTH_TIMEOUT_SECONDS:g} seconds.",
}


def message_token(message: str | bytes) -> str | None:
    """The token of a first message ``{"token": "<access token>"}`` (a text frame), or ``None`` for anything
    else: a binary frame, more than :data:`MAX_FIRST_MESSAGE_BYTES`, not JSON, not exactly that object, or a
    token that could not be a bearer token (RFC 6750 §2.1's characters)."""
    if not isinstance(message, str) or len(message.encode()) > MAX_FIRST_MESSAGE_BYTES:
        return None
    try:
        fields = json.loads(message)
    except ValueError:
        return None
    if not isinstance(fields, dict) or set(fields) != {"token"} or not isinstance(fields["token"], str):
        return None
    return bearer_token([f"Bearer {fields['token']}"])


def event_message(event: OrderEvent) -> str:
    """The text frame for an order's state: ``{"order_id": 7, "status": "confirmed", "changed_at":
    "2026-12-02T17:44:06.123456Z"}``, the time rendered as every timestamp of the API is."""
    changed_at = format_timestamp(event.changed_at)
    return json.dumps({"order_id": event.order_id, "status": event.status.value, "changed_at": changed_at})


W = TypeVar("W", bound=Hashable)


@dataclass(frozen=True)
class Resync:
    """An order's current state, read after the process's ``LISTEN`` connection came back: sent to each of
    its watchers whether or not it is news, since changes may have gone unheard meanwhile."""

    event: OrderEvent


class SocketLimitReached(Exception):
    """The process holds ``SHOP_MAX_SOCKETS_PER_WORKER`` sockets already (close with
    :attr:`Close.TRY_AGAIN_LATER`)."""


class Watchers(Generic[W]):
    """One process's open sockets (any hashable watcher object), at most ``limit`` of them, and which order
    each watches: the bookkeeping both apps' hubs share. Not thread-safe: the FastAPI hub uses it from its
    event loop, the Flask hub under a lock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._order_of: dict[W, int | None] = {}
        self._of_order: dict[int, set[W]] = {}

    def add(self, watcher: W) -> None:
        """Count ``watcher`` in; raises :class:`SocketLimitReached` when ``limit`` are in already."""
        if len(self._order_of) >= self.limit:
            raise SocketLimitReached
        self._order_of[watcher] = None

    def watch(self, watcher: W, order_id: int) -> None:
        """``watcher`` watches order ``order_id`` from now on."""
        self._order_of[watcher] = order_id
        self._of_order.setdefault(order_id, set()).add(watcher)

    def remove(self, watcher: W) -> None:
        """Count ``watcher`` out, and out of its order's watchers."""
        order_id = self._order_of.pop(watcher, None)
        if order_id is not None:
            self._of_order[order_id].discard(watcher)
            if not self._of_order[order_id]:
                del self._of_order[order_id]

    def of_order(self, order_id: int) -> list[W]:
        """The watchers of order ``order_id``."""
        return list(self._of_order.get(order_id, ()))

    def watched_orders(self) -> list[int]:
        """The orders someone watches."""
        return list(self._of_order)

    def watching(self) -> list[W]:
        """Every watcher that watches an order (has passed its token and found the order)."""
        return [watcher for watchers in self._of_order.values() for watcher in watchers]

    def __iter__(self) -> Iterator[W]:
        return iter(list(self._order_of))

    def __len__(self) -> int:
        return len(self._order_of)
