"""The back office at ``/admin``: SQLAdmin on the app's async engine, signed in through its
``AuthenticationBackend`` over a server-side session (:mod:`fastapi_shop.admin.sessions`), every POST under
``/admin`` checked for a CSRF token (:mod:`fastapi_shop.admin.guard`: SQLAdmin has none of its own).

The JSON API is outside the admin's mount, takes bearer tokens, which a browser never sends on its own, and
needs no CSRF token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqladmin import Admin
from sqladmin.authentication import login_required
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from fastapi_shop import services
from fastapi_shop.admin import guard, sessions, views
from fastapi_shop.db import create_sessionmaker
from fastapi_shop.passwords import PasswordHashing
from shared.config import Settings
from shared.http import api as http_api

HERE = Path(__file__).parent


class CachedStaticFiles(StaticFiles):
    """Starlette's ``StaticFiles`` (ETag and Last-Modified), and browsers may keep each file for
    :data:`~shared.http.api.ASSET_MAX_AGE_SECONDS` before asking again."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = f"public, max-age={http_api.ASSET_MAX_AGE_SECONDS}"
        return response


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
            backend = self.authentication_backend
            if backend is None or await backend.authenticate(request) is not True:
                return RedirectResponse(request.url_for("admin:login"), status_code=302)
            return sessions.templates.TemplateResponse(request, "back_office/sign_out.html")
        return await super().logout(request)


def init_app(app: FastAPI, *, engine: AsyncEngine, settings: Settings, passwords: PasswordHashing) -> None:
    """Mount the back office on ``app``; raises :class:`shared.config.ConfigError` without
    ``SHOP_SESSION_SECRET``."""
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
    )
    admin.templates.env.globals["csrf_token"] = guard.csrf_token  # every form of the back office has it
    for view in (views.ProductAdmin, views.OrderAdmin, views.UserAdmin, views.OutboxAdmin, views.AuditAdmin):
        admin.add_view(view)
