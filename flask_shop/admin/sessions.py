"""Signing in to the back office: flask-login over a server-side session, and the sign-in and sign-out pages.

The session cookie is Flask's, signed with ``SHOP_SESSION_SECRET``, and holds only an opaque reference to an
``admin_sessions`` row (flask-login stores what :meth:`AdminLogin.get_id` returns), so signing out, a
revoked admin right, 30 idle minutes or 8 hours end it on every worker
(:func:`shared.db.statements.valid_admin_session`).
Each sign-in makes a new row and a new cookie, whatever the browser brought (no session fixation).

The JSON API never reads this cookie: :func:`load_admin` answers only under ``/admin``, and the API keeps its
bearer tokens (:mod:`flask_shop.auth`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import (
    Blueprint,
    Flask,
    Request,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_login import UserMixin, current_user, login_user, logout_user

from flask_shop import services
from flask_shop.db import get_session
from flask_shop.extensions import login_manager
from flask_shop.passwords import get_password_hashing
from shared.config import Settings
from shared.db import models
from shared.domain.exceptions import LoginThrottled, NotAnAdmin
from shared.http import api as http_api
from shared.http.inputs import local_redirect
from shared.http.problems import domain_problem

URL_PREFIX = "/admin"


class AssetsBlueprint(Blueprint):
    """A blueprint whose static files browsers may keep for :data:`~shared.http.api.ASSET_MAX_AGE_SECONDS`
    (Flask's default: ask again each time)."""

    def get_send_file_max_age(self, filename: str | None) -> int:
        return http_api.ASSET_MAX_AGE_SECONDS


# Flask's static-folder idiom: the back office's own CSS, at /admin/assets/...
bp = AssetsBlueprint(
    "back_office",
    __name__,
    url_prefix=URL_PREFIX,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)


def in_back_office(path: str) -> bool:
    """Whether ``path`` is the back office's: ``/admin`` or below it."""
    return path == URL_PREFIX or path.startswith(URL_PREFIX + "/")


@dataclass(frozen=True)
class AdminLogin(UserMixin):
    """What flask-login calls the current user in the back office: a valid admin session and its reference."""

    admin_session: models.AdminSession
    reference: str

    @property
    def user(self) -> models.User:
        return self.admin_session.user

    def get_id(self) -> str:
        """What flask-login keeps in the cookie: the session's opaque reference, never the user's id."""
        return self.reference


def current_admin() -> AdminLogin | None:
    """The signed-in admin of this request, or ``None`` (also for an API token: the back office takes
    none)."""
    login = current_user._get_current_object()
    return login if isinstance(login, AdminLogin) else None


@login_manager.user_loader
def load_admin(reference: str) -> AdminLogin | None:
    """The admin whose session the cookie refers to, if it is still valid. Only asked under ``/admin``:
    elsewhere there is no session to read a reference from (:class:`AdminSessionInterface`)."""
    admin_session = services.authenticate_admin_session(session=get_session(), token=reference)
    return AdminLogin(admin_session, reference) if admin_session else None


class AdminSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, for the back office only: elsewhere Flask gets its null session, so
    the API never reads a cookie and its answers do not ``Vary: Cookie``. The cookie is ``Secure`` whenever
    the request came over HTTPS, directly or through a trusted proxy (``X-Forwarded-Proto``,
    :class:`flask_shop.middleware.TrustedProxyFix`), so the same deployment serves plain HTTP in
    development."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not in_back_office(request.path):
            return None  # Flask's null session
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


def safe_next(target: str | None) -> str:
    """Where to go after signing in: ``target`` if it is a path in the back office
    (:func:`shared.http.inputs.local_redirect`), else its home."""
    return local_redirect(target, within=URL_PREFIX) or url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """The sign-in page; a POST signs an admin in with the email and password of their account.

    Wrong credentials are throttled as the token endpoint's are (:mod:`shared.domain.logins`): 401, then 429
    with ``Retry-After``; a customer's right password: 403.
    """
    next_url = safe_next(request.args.get("next"))
    if request.method == "GET":
        return render_template("back_office/login.html", next_url=next_url)
    email, password = request.form.get("email", ""), request.form.get("password", "")
    settings: Settings = current_app.config["SHOP_SETTINGS"]
    headers: Mapping[str, str] = {}
    try:
        reference = services.start_admin_session(
            session=get_session(),
            passwords=get_password_hashing(),
            email=email,
            password=password,
            client_address=request.remote_addr or "unknown",
            limits=settings.login_limits(),
        )
    except (LoginThrottled, NotAnAdmin) as error:  # 429 with Retry-After, 403: as the API says
        refusal = domain_problem(error)
        status, message, headers = refusal.status, refusal.detail, refusal.headers
    else:
        admin_session = None
        if reference is not None:
            admin_session = services.authenticate_admin_session(session=get_session(), token=reference)
        if admin_session is not None:
            session.clear()  # nothing of an earlier session survives a sign-in
            login_user(AdminLogin(admin_session, reference))
            return redirect(next_url)
        status, message = 401, "Wrong email or password."
    page = render_template("back_office/login.html", next_url=next_url, error=message, email=email)
    return page, status, headers


@bp.route("/logout", methods=["GET", "POST"])
def sign_out() -> ResponseReturnValue:
    """Sign out: GET asks (a link must not change anything), POST ends the session everywhere."""
    login = current_admin()
    if request.method == "GET":
        if login is None:
            return redirect(url_for(".sign_in"))
        return render_template("back_office/sign_out.html", admin=login.user)
    if login is not None:
        services.end_admin_session(session=get_session(), admin_session_id=login.admin_session.id)
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for(".sign_in"))
