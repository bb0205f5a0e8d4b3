"""Pure ASGI middleware (not ``BaseHTTPMiddleware``, so streaming and background tasks are untouched):
``X-Request-ID``, one access log line and the request metrics per request, the request body size limit,
``HEAD`` on every ``GET`` route, and CORS refusals as problem documents.
"""

from __future__ import annotations

import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_shop.errors import ProblemResponse
from shared.http.problems import http_problem
from shared.http.request_id import HEADER, request_id_from
from shared.observability import logs, metrics


def route_of(scope: Scope) -> str:
    """The route template the request matched (Starlette's ``path_format``: ``/api/v1/orders/{order_id}``);
    ``unmatched`` when none did.

    FastAPI's routes leave themselves in the scope (``scope["route"]``); Starlette's plain ones, such as
    FastAPI's own ``/openapi.json``, leave only their endpoint, so the route is the app's route with that
    endpoint."""
    route = scope.get("route")
    if isinstance(route, Route):
        return route.path_format
    endpoint = scope.get("endpoint")
    if isinstance(endpoint, StaticFiles):  # the /static mount
        return metrics.STATIC_ROUTE
    if endpoint is not None and "app" in scope:
        for candidate in scope["app"].router.routes:
            if isinstance(candidate, Route) and candidate.endpoint is endpoint:
                return candidate.path_format
    return metrics.UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Outermost: gives every response its ``X-Request-ID``, and logs and counts each request once it has
    been answered (:func:`shared.observability.logs.log_access`,
    :func:`shared.observability.metrics.observe_request`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get(HEADER))
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        logged = False

        def log_request(status: int) -> None:
            nonlocal logged
            logged = True
            seconds = time.perf_counter() - started
            method, route = scope["method"], route_of(scope)
            metrics.observe_request(method=method, route=route, status=status, seconds=seconds)
            logs.log_access(
                client=scope["client"][0] if scope.get("client") else "-",
                method=method,
                path=scope["path"],
                route=route,
                status=status,
                seconds=seconds,
                request_id=request_id,
            )

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)
            # log when the response is complete, not after background tasks that run later in this call
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                log_request(status)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            if not logged:
                log_request(500)  # the server's error handler answers from outside this middleware
            raise


class BodySizeLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with a 413 problem document.

    A too-large ``Content-Length`` is refused before the app runs. A chunked body is counted as it is read;
    the read that crosses the limit raises ``HTTPException(413)``, which the app's handlers render.
    (FastAPI's own ``max_body_size`` answers in plain text, which the contract does not allow.)
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            # the body stays unread: close the connection rather than read it all (RFC 9110 §10.1.1)
            response = ProblemResponse(
                http_problem(413, self._detail()).to_dict(), status_code=413, headers={"Connection": "close"}
            )
            await response(scope, receive, send)
            return
        received = 0

        async def receive_with_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, self._detail())
            return message

        await self.app(scope, receive_with_limit, send)

    def _detail(self) -> str:
        return f"The request body is larger than {self.max_bytes} bytes."


class HeadMiddleware:
    """Serve ``HEAD`` wherever ``GET`` is served (RFC 9110 §9.1: every general-purpose server MUST).

    Starlette adds ``HEAD`` to its own routes, FastAPI's ``APIRoute`` does not. The request is routed as a
    ``GET`` (a copy of the scope: the server keeps its own, still ``HEAD``) and the server, which knows the
    request was a ``HEAD``, sends the headers without the body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's ``CORSMiddleware``, answering a refused preflight with a ``400`` problem document
    instead of its ``text/plain`` "Disallowed CORS origin" (the Flask app refuses the same preflights,
    with :func:`shared.http.api.preflight_failures`)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        detail = bytes(response.body).decode() + "."  # e.g. "Disallowed CORS origin, method."
        # and without its Access-Control-Allow-* headers: a refusal grants nothing
        return ProblemResponse(http_problem(400, detail).to_dict(), status_code=400)
