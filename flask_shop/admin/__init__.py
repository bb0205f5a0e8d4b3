"""The back office at ``/admin``: Flask-Admin 2 (Bootstrap 4, every asset served by the app), signed in with
flask-login over a server-side session (:mod:`flask_shop.admin.sessions`), every POST under ``/admin``
checked for Flask-WTF's CSRF token.

Flask-Admin's own forms, actions and templates render ``csrf_token()`` when Flask-WTF's ``CSRFProtect`` is
on the app; its ``SecureForm`` alone would answer a missing token with the form again and a 200. The check
runs under ``/admin`` only: the JSON API takes bearer tokens, which a browser never sends on its own, and
needs none.
"""

from __future__ import annotations

import warnings

from flask import Flask, abort, request
from flask_admin import Admin
from flask_admin.menu import MenuLink
from flask_admin.theme import Bootstrap4Theme
from werkzeug.local import LocalProxy

from flask_shop.admin import sessions, views
from flask_shop.db import get_session
from flask_shop.extensions import csrf
from shared.db import models
from shared.domain.limits import ADMIN_SESSION_MAX_SECONDS
from shared.http.inputs import NUL_DETAIL


def guard_admin_request() -> None:
    """What every request to the back office must pass before a view sees it (as
    :class:`fastapi_shop.admin.guard.AdminRequestGuard` does in the FastAPI app): no NUL character in its
    query (400: PostgreSQL cannot compare a search term or filter value with one, and the API refuses it too),
    and, for a state-changing request, a valid CSRF token (Flask-WTF's 400; nothing changed)."""
    if not sessions.in_back_office(request.path):
        return
    if any("\x00" in value for value in request.args.values()):
        abort(400, f"A query parameter {NUL_DETAIL}.")
    csrf.protect()  # checks POST, PUT, PATCH and DELETE only


def init_app(app: Flask) -> None:
    """Mount the back office on ``app``; raises :class:`shared.config.ConfigError` without
    ``SHOP_SESSION_SECRET``."""
    settings = app.config["SHOP_SETTINGS"]
    app.config.update(
        SECRET_KEY=settings.require_session_secret(),
        SESSION_COOKIE_NAME="shop_admin_session",
        SESSION_COOKIE_PATH=sessions.URL_PREFIX,  # never sent to the API
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_CHECK_DEFAULT=False,  # guard_admin_request decides
        WTF_CSRF_TIME_LIMIT=ADMIN_SESSION_MAX_SECONDS,  # a form stays usable as long as the session
    )
    app.session_interface = sessions.AdminSessionInterface()
    csrf.init_app(app)
    app.before_request(guard_admin_request)
    app.register_blueprint(sessions.bp)

    admin = Admin(
        app,
        name="shop admin (Flask)",
        url=sessions.URL_PREFIX,
        theme=Bootstrap4Theme(swatch="default"),  # its Bootswatch schemes fetch web fonts from another host
        index_view=views.DashboardView(name="Dashboard", url=sessions.URL_PREFIX),
    )
    # Flask-Admin 2 warns that 3.0 will take only a Flask-SQLAlchemy(-Lite) object; this app has its own
    # request-scoped session (flask_shop.db), which a proxy hands to each query. The views look at it as they
    # are built, hence the app context.
    session = LocalProxy(get_session)
    # the views' addresses are SQLAdmin's (/admin/product/..., named after the model), so both apps share them
    with app.app_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        admin.add_view(
            views.ProductView(
                models.Product, session, name="Products", endpoint="admin_products", url="product"
            )
        )
        admin.add_view(
            views.OrderView(models.Order, session, name="Orders", endpoint="admin_orders", url="order")
        )
        admin.add_view(views.UserView(models.User, session, name="Users", endpoint="admin_users", url="user"))
        admin.add_view(
            views.OutboxView(
                models.OutboxMessage, session, name="Outbox", endpoint="admin_outbox", url="outbox-message"
            )
        )
        admin.add_view(
            views.AuditView(
                models.AuditEntry, session, name="Audit trail", endpoint="admin_audit", url="audit-entry"
            )
        )
    admin.add_link(MenuLink(name="Sign out", endpoint="back_office.sign_out"))
