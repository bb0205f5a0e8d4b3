"""CSRF protection for the back office, which SQLAdmin does not have: the synchronizer token pattern (OWASP,
"Cross-Site Request Forgery Prevention Cheat Sheet"), as Flask-WTF's ``CSRFProtect`` does for the Flask app.

A random token lives in the signed session (:mod:`fastapi_shop.admin.sessions`); every form of the back office
repeats it in its ``csrf_token`` field (the templates call :func:`csrf_token`), and a state-changing request
whose field does not match is refused with 403 before SQLAdmin or a view sees it, so it changes nothing.

Why not a library: starlette-csrf reads the token only from a header, which a plain HTML form cannot send;
asgi-csrf (Datasette's) reads form fields, but its multipart parser fails on python-multipart 0.0.2x and
later, and SQLAdmin's forms are multipart. The form is parsed here by Starlette, as the app parses it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_shop.errors import ProblemResponse
from shared.http.problems import http_problem

FIELD = "csrf_token"  # the form field, named as Flask-WTF names it
SESSION_KEY = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})  # RFC 9110 §9.2.1


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (a template global: ``{{ csrf_token(request) }}``)."""
    if SESSION_KEY not in request.session:
        request.session[SESSION_KEY] = secrets.token_urlsafe(32)
    token: str = request.session[SESSION_KEY]
    return token


class CSRFMiddleware:
    """Refuses a state-changing request without the session's token in its form (inside the session
    middleware, which puts the session in the scope)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        try:
            async with Request(scope, _replay(body, receive)).form() as form:
                sent = form.get(FIELD)
        except (HTTPException, MultiPartException):  # Starlette's answer to a malformed form
            await _refuse(400, "The form cannot be read.", scope, receive, send)
            return
        expected = scope["session"].get(SESSION_KEY)
        if not isinstance(sent, str) or not expected or not secrets.compare_digest(sent, expected):
            await _refuse(403, "The CSRF token is missing or does not match.", scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _refuse(status: int, detail: str, scope: Scope, receive: Receive, send: Send) -> None:
    problem = http_problem(status, detail)
    await ProblemResponse(problem.to_dict(), status_code=problem.status)(scope, receive, send)


async def _read_body(receive: Receive) -> list[Message]:
    """The request's body messages (already bounded by the app's body size limit)."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A ``receive`` that gives the body again, then waits on the real one (for a disconnect)."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
