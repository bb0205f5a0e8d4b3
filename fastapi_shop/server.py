"""uvicorn's protocols, as the API needs them: HTTP/1.1 with the limits and the error documents of the rest
of the API, and WebSockets that close with 1001 when the server shuts down.

``uvicorn --http fastapi_shop.server:HttpToolsProtocol --ws fastapi_shop.server:WebSocketProtocol`` (the
Dockerfile, the Makefile and the contract suite start it so). uvicorn answers a request it cannot parse
itself, before the app runs, with a ``text/plain`` 400, and sets no limit on the request line or the header
fields. This protocol sends
``application/problem+json`` instead and refuses what gunicorn refuses for the Flask app
(:mod:`shared.http.api`): a request line over 4094 bytes is a 414, more than 100 header fields or one over
8190 bytes a 431. Each such answer closes the connection, as uvicorn's own does: the parser cannot tell where
the next request would start.

Subclassing the protocol is uvicorn's extension point for this (``--http`` takes a class by import string);
it has no setting for these limits or for the error body.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as UvicornHttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from shared.http.api import MAX_HEADER_FIELD_BYTES, MAX_HEADER_FIELDS, MAX_REQUEST_LINE_BYTES
from shared.http.problems import raw_problem_response
from shared.http.sockets import MAX_FIRST_MESSAGE_BYTES, PING_INTERVAL_SECONDS, Close
from shared.observability import metrics


class RequestRefused(Exception):
    """Raised from a parser callback to stop parsing; httptools reports it as a parser error."""


class HttpToolsProtocol(UvicornHttpToolsProtocol):
    """uvicorn's httptools protocol; the limits of :mod:`shared.http.api`, problem documents for errors."""

    _refusal: tuple[int, str] | None = None  # (status, detail) of the limit a request broke

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._refusal = None

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        # "METHOD SP target SP HTTP/1.1": the target arrives in pieces, the method is already parsed
        if len(self.parser.get_method()) + len(self.url) + len(" HTTP/1.1") + 1 > MAX_REQUEST_LINE_BYTES:
            self._refuse(414, f"The request line is longer than {MAX_REQUEST_LINE_BYTES} bytes.")

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADER_FIELDS:
            self._refuse(431, f"The request has more than {MAX_HEADER_FIELDS} header fields.")
        if len(name) + len(b": ") + len(value) + len(b"\r\n") > MAX_HEADER_FIELD_BYTES:
            self._refuse(431, f"A header field is longer than {MAX_HEADER_FIELD_BYTES} bytes.")
        super().on_header(name, value)

    def _refuse(self, status: int, detail: str) -> None:
        self._refusal = (status, detail)
        raise RequestRefused(detail)

    def send_400_response(self, msg: str) -> None:
        """Called by uvicorn for any request the parser refused, with ``msg`` its text/plain body."""
        status, detail = self._refusal or (400, "The request is not valid HTTP/1.1.")
        self.transport.write(raw_problem_response(status, detail))
        self.transport.close()


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol (its default, on the websockets library's Sans-I/O core) refusing a
    client message over 4 KiB, and closing an open socket with 1001, going away, and a reason when the server
    shuts down (:class:`Close`), rather than uvicorn's 1012, service restart: what the API documents for both
    apps (:mod:`shared.http.sockets`).

    uvicorn closes its sockets itself before the lifespan ends, so the app cannot choose the code; the
    protocol's ``shutdown`` is the place. The app hears the same code, as ``websocket.disconnect``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a client sends one message, {"token": ...}: at most 4 KiB, as the Flask app's simple-websocket is
        # told; past it the websockets library closes with 1009 (message too big). uvicorn's --ws-max-size
        # would take 16 MiB by default.
        self.conn.max_message_size = MAX_FIRST_MESSAGE_BYTES
        # a ping every 20 s, and a peer that has not answered within 20 s more dropped (with 1011, uvicorn's
        # "keepalive ping timeout"): uvicorn's defaults, stated here where the protocol is
        self.ping_interval = self.ping_timeout = PING_INTERVAL_SECONDS

    def shutdown(self) -> None:
        if not self.handshake_complete or self.close_sent:
            super().shutdown()  # a 500 to an upgrade not yet answered; or the close already under way
            return
        self.stop_keepalive()
        metrics.WEBSOCKET_CLOSES.labels(str(Close.GOING_AWAY.value)).inc()  # the app's own closes count there
        self.queue.put_nowait({"type": "websocket.disconnect", "code": Close.GOING_AWAY.value})
        self.conn.send_close(Close.GOING_AWAY.value, Close.GOING_AWAY.reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.transport.close()
