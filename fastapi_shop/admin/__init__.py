"""The back office at ``/admin``: SQLAdmin on the app's async engine, signed in through its
``AuthenticationBackend`` over a server-side session (:mod:`fastapi_shop.admin.sessions`), every POST under
``/admin`` checked for a CSRF token.

SQLAdmin has no CSRF protection of its own. ``asgi-csrf`` (Datasette's) wraps the admin's mount: a signed
token in a cookie that every form must repeat in its ``csrftoken`` field, read from URL-encoded and
multipart bodies alike (starlette-csrf reads only a header, which a plain HTML form cannot send); a POST
without it is refused with 403 and changes nothing. The JSON API is outside the mount, takes bearer tokens,
which a browser never sends on its own, and needs none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asgi_csrf import asgi_csrf
from fastapi import FastAPI
from sqladmin import Admin
from sqladmin.authentication import login_required
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Scope, Send

from fastapi_shop import services
from fastapi_shop.admin import sessions, views
from fastapi_shop.db import create_sessionmaker
from fastapi_shop.errors import ProblemResponse
from fastapi_shop.passwords import PasswordHashing
from shared.config import Settings
from shared.http import api as http_api
from shared.http.problems import http_problem

HERE = Path(__file__).parent


class CachedStaticFiles(StaticFiles):
    """Starlette's ``StaticFiles`` (ETag and Last-Modified), and browsers may keep each file for
    :data:`~shared.http.api.ASSET_MAX_AGE_SECONDS` before asking again."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = f"public, max-age={http_api.ASSET_MAX_AGE_SECONDS}"
        return response


async def refuse_without_token(scope: Scope, send: Send, message_id: Any) -> None:
    """asgi-csrf's refusal, as a problem document like every other error of the app: 403, nothing changed."""
    problem = http_problem(403, "The CSRF token is missing or does not match.")
    response = ProblemResponse(problem.to_dict(), status_code=problem.status)
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}  # a response never reads the request


class ShopAdmin(Admin):
    """SQLAdmin with the shop's dashboard as its home, its own sign-in page, and a sign-out that is a POST."""

    def __init__(self, app: FastAPI, **options: Any) -> None:
        super().__init__(app, **options)
        # SQLAdmin signs out on a GET (a link): here a GET asks, and the POST of that page signs out
        for index, route in enumerate(self.admin.router.routes):
            if isinstance(route, Route) and route.name == "logout":
                self.admin.router.routes[index] = Route(
                    "/logout", endpoint=self.logout, name="logout", methods=["GET", "POST"]
                )

    @login_required
    async def index(self, request: Request) -> Response:
        """The home page: today's orders and revenue, unsent confirmations, the products lowest in stock."""
        async with self.session_maker() as session:
            dashboard = await services.read_dashboard(session=session)
        return await self.templates.TemplateResponse(
            request, "back_office/dashboard.html", {"dashboard": dashboard}
        )

    async def login(self, request: Request) -> Response:
        """The sign-in page (FastAPI's ``Jinja2Templates``); its POST goes to the authentication backend."""
        if request.method == "GET":
            context = {"next_url": sessions.safe_next(request.query_params.get("next"))}
            return sessions.templates.TemplateResponse(request, "back_office/login.html", context)
        return await super().login(request)

    async def logout(self, request: Request) -> Response:
        """Sign out: GET asks (a link must not change anything), POST ends the session everywhere."""
        if request.method == "GET":
            if not request.session.get(sessions.SESSION_KEY):
                return RedirectResponse(request.url_for("admin:login"), status_code=302)
            return sessions.templates.TemplateResponse(request, "back_office/sign_out.html")
        return await super().logout(request)


def init_app(app: FastAPI, *, engine: AsyncEngine, settings: Settings, passwords: PasswordHashing) -> None:
    """Mount the back office on ``app``; raises :class:`shared.config.ConfigError` without
    ``SHOP_SESSION_SECRET``."""
    secret = settings.require_session_secret()
    # FastAPI's StaticFiles idiom: the back office's own CSS, mounted before the admin's /admin mount
    app.mount("/admin/assets", CachedStaticFiles(directory=HERE / "static"), name="admin_assets")
    sessionmaker = create_sessionmaker(engine)  # the admin's own: SQLAdmin reconfigures the one it is given
    views.UserAdmin.passwords = passwords
    admin = ShopAdmin(
        app,
        session_maker=sessionmaker,
        base_url=sessions.URL_PREFIX,
        title="shop admin (FastAPI)",
        templates_dir=str(HERE / "templates"),
        authentication_backend=sessions.AdminAuthentication(
            settings=settings, sessionmaker=sessionmaker, passwords=passwords
        ),
        middlewares=[
            Middleware(
                asgi_csrf,
                signing_secret=secret,
                cookie_path=sessions.URL_PREFIX,
                always_protect={sessions.URL_PREFIX + "/login"},  # a first sign-in has no cookie yet
                send_csrf_failed=refuse_without_token,
            )
        ],
    )
    for view in (views.ProductAdmin, views.OrderAdmin, views.UserAdmin, views.OutboxAdmin, views.AuditAdmin):
        admin.add_view(view)
