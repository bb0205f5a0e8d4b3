"""Signing in to the back office: SQLAdmin's ``AuthenticationBackend`` over a server-side session, and the
sign-in and sign-out pages.

The session cookie is Starlette's ``SessionMiddleware``'s, signed with ``SHOP_SESSION_SECRET``, and holds only
an opaque reference to an ``admin_sessions`` row, so signing out, a revoked admin right, 30 idle minutes or 8
hours end it on every worker (:func:`shared.db.statements.valid_admin_session`). Each sign-in makes a new row
and a new cookie, whatever the browser brought (no session fixation).

The JSON API never reads this cookie: the middleware wraps the admin's mount only, and the API keeps its
bearer tokens (:mod:`fastapi_shop.auth`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from sqladmin.authentication import AuthenticationBackend
from sqladmin.flash import flash, get_flashed_messages
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fastapi_shop import services
from fastapi_shop.admin.guard import AdminRequestGuard, csrf_token
from fastapi_shop.passwords import PasswordHashing
from shared.config import Settings
from shared.db import models
from shared.domain.exceptions import LoginThrottled, NotAnAdmin
from shared.http.inputs import local_redirect
from shared.http.problems import domain_problem

URL_PREFIX = "/admin"
SESSION_COOKIE = "shop_admin_session"
SESSION_KEY = "admin_session"  # the one thing the cookie holds: the session's opaque reference
# FastAPI's Jinja2Templates, for the pages of this app's own (the sign-in page, the sign-out question)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["get_flashed_messages"] = get_flashed_messages  # "You have signed out."
templates.env.globals["csrf_token"] = csrf_token


class SessionBySchemeMiddleware:
    """Starlette's ``SessionMiddleware``, with a cookie that is ``Secure`` whenever the request came over
    HTTPS, directly or through a trusted proxy (uvicorn's ``--proxy-headers`` and ``FORWARDED_ALLOW_IPS``),
    so the same deployment serves plain HTTP in development. (``https_only`` is fixed per middleware.)"""

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self._plain = SessionMiddleware(app, https_only=False, **options)
        self._secure = SessionMiddleware(app, https_only=True, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        middleware = self._secure if scope.get("scheme") in ("https", "wss") else self._plain
        await middleware(scope, receive, send)


def current_admin_session(request: Request) -> models.AdminSession:
    """The signed-in admin's session (with its user), in a view that ``login_required`` let the request
    into."""
    admin_session: models.AdminSession = request.state.admin_session
    return admin_session


def safe_next(target: str | None) -> str:
    """Where to go after signing in: ``target`` if it is a path in the back office
    (:func:`shared.http.inputs.local_redirect`), else its home."""
    return local_redirect(target, within=URL_PREFIX) or URL_PREFIX + "/"


class AdminAuthentication(AuthenticationBackend):
    """SQLAdmin's one place for access: only a signed-in admin; anyone else goes to the sign-in page."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        passwords: PasswordHashing,
    ) -> None:
        super().__init__(secret_key=settings.require_session_secret())
        self.middlewares = [
            Middleware(
                SessionBySchemeMiddleware,
                secret_key=settings.require_session_secret(),
                session_cookie=SESSION_COOKIE,
                path=URL_PREFIX,  # never sent to the API
                same_site="lax",
                max_age=None,  # a browser-session cookie; the server decides when the session ends
            ),
            Middleware(AdminRequestGuard),  # inside: it reads the CSRF token from the session
        ]
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._passwords = passwords

    async def login(self, request: Request) -> Response | bool:
        """Sign an admin in with the email and password of their account.

        Wrong credentials are throttled as the token endpoint's are (:mod:`shared.domain.logins`): 401, then
        429 with ``Retry-After``; a customer's right password: 403.
        """
        form = await request.form()
        email, password = str(form.get("email", "")), str(form.get("password", ""))
        headers: Mapping[str, str] = {}
        async with self._sessionmaker() as session:
            try:
                reference = await services.start_admin_session(
                    session=session,
                    passwords=self._passwords,
                    email=email,
                    password=password,
                    client_address=request.client.host if request.client else "unknown",
                    limits=self._settings.login_limits(),
                )
            except (
                LoginThrottled,
                NotAnAdmin,
            ) as error:  # 429 with Retry-After, 403: as the API answers them
                refusal = domain_problem(error)
                status, message, headers = refusal.status, refusal.detail, refusal.headers
            else:
                if reference is not None:
                    request.session.clear()  # nothing of an earlier session survives a sign-in
                    request.session[SESSION_KEY] = reference
                    return RedirectResponse(safe_next(request.query_params.get("next")), status_code=302)
                status, message = 401, "Wrong email or password."
        context = {"error": message, "email": email, "next_url": safe_next(request.query_params.get("next"))}
        return templates.TemplateResponse(request, "back_office/login.html", context, status, headers)

    async def logout(self, request: Request) -> Response | bool:
        """End the session everywhere (a POST: :class:`fastapi_shop.admin.ShopAdmin` asks first on a GET)."""
        reference = request.session.get(SESSION_KEY)
        if reference:
            async with self._sessionmaker() as session:
                admin_session = await services.authenticate_admin_session(session=session, token=reference)
                if admin_session is not None:
                    await services.end_admin_session(session=session, admin_session_id=admin_session.id)
        request.session.clear()
        flash(request, "You have signed out.", "success")
        return RedirectResponse(request.url_for("admin:login"), status_code=302)

    async def authenticate(self, request: Request) -> Response | bool:
        """Whether the cookie refers to a valid admin session (kept on ``request.state`` for the views); if
        not, the sign-in page, which comes back here."""
        reference = request.session.get(SESSION_KEY)
        admin_session = None
        if reference:
            async with self._sessionmaker() as session:
                admin_session = await services.authenticate_admin_session(session=session, token=reference)
        if admin_session is None:
            request.session.pop(SESSION_KEY, None)
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            sign_in = request.url_for("admin:login").include_query_params(next=here)
            return RedirectResponse(sign_in, status_code=302)
        request.state.admin_session = admin_session
        return True

    async def get_user_id(self, request: Request) -> Any:
        return current_admin_session(request).user_id
