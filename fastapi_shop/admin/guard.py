"""What every request to the back office must pass before SQLAdmin sees it (as
:func:`flask_shop.admin.guard_admin_request` does in the Flask app): no NUL character in its query, and, for
a state-changing request, the CSRF token.

A NUL reaches PostgreSQL in a search term or a filter value, where it cannot be compared: it is refused with
400, as the API refuses it (``shared/http/inputs.py``).

CSRF protection, which SQLAdmin does not have, is the synchronizer token pattern (OWASP, "Cross-Site
Request Forgery Prevention Cheat Sheet"), as Flask-WTF's ``CSRFProtect`` does for the Flask app.

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
from urllib.parse import unquote

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_shop.errors import problem_response
from shared.http.inputs import NUL_DETAIL
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


class AdminRequestGuard:
    """Refuses a query with a NUL character (400), and a state-changing request without the session's token
    in its form (403); inside the session middleware, which puts the session in the scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in unquote(scope["query_string"].decode("latin-1")):
            await _refuse(400, f"A query parameter {NUL_DETAIL}.", scope, receive, send)
            return
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
            async with Request(scope, _replay(body, receive)).form() as form:
                sent = form.get(FIELD)
        except ClientDisconnect:
            return  # no one to answer
        except HTTPException as error:  # the app's body size limit (413), or a malformed form (400)
            await _refuse(error.status_code, str(error.detail), scope, receive, send)
            return
        except MultiPartException:
            await _refuse(400, "The form cannot be read.", scope, receive, send)
            return
        expected = scope["session"].get(SESSION_KEY)
        if not isinstance(sent, str) or not expected or not secrets.compare_digest(sent, expected):
            await _refuse(403, "The CSRF token is missing or does not match.", scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _refuse(status: int, detail: str, scope: Scope, receive: Receive, send: Send) -> None:
    await problem_response(Request(scope), http_problem(status, detail))(scope, receive, send)


async def _read_body(receive: Receive) -> list[Message]:
    """The request's body messages; the app's body size limit raises a 413 ``HTTPException`` past it."""
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
