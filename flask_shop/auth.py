"""Accounts: register, OAuth2 password-grant tokens, logout, ``/users/me``, and flask-login's wiring.

flask-login's ``request_loader`` reads ``Authorization: Bearer <token>`` on every request and checks it
against ``auth_tokens`` (see :mod:`shared.domain.security`), the same table the FastAPI app reads, so a token
from either app works on both. Nothing is kept in Flask's session and no cookie is ever set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Request, abort, current_app, request
from flask_login import UserMixin, current_user, login_required
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from flask_shop import services
from flask_shop.content_types import require_form, require_json
from flask_shop.db import get_session
from flask_shop.extensions import login_manager
from flask_shop.passwords import get_password_hashing
from flask_shop.schemas import TokenRequestSchema, TokenSchema, UserCreateSchema, UserSchema
from flask_shop.smorest import BEARER_SCHEME, Blueprint
from shared.db import models
from shared.http.authorization import bearer_token

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts")

F = TypeVar("F", bound=Callable[..., Any])


def unauthorized_error(detail: str) -> Unauthorized:
    """401 with ``WWW-Authenticate: Bearer`` (RFC 6750 §3); errors.py renders it as a problem document."""
    return Unauthorized(detail, www_authenticate=WWWAuthenticate("Bearer"))


# --- flask-login ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginUser(UserMixin):  # type: ignore[misc]
    """What flask-login calls the current user: the account and the token the request carried."""

    auth_token: models.AuthToken

    @property
    def user(self) -> models.User:
        return self.auth_token.user

    def get_id(self) -> str:
        return str(self.auth_token.user_id)


@login_manager.request_loader
def load_user_from_request(request: Request) -> LoginUser | None:
    """The caller's valid token (with its user), or ``None``: missing, unknown, expired or revoked."""
    token = bearer_token(request.headers.getlist("Authorization"))
    if token is None:
        return None
    auth_token = services.authenticate_token(session=get_session(), token=token)
    return LoginUser(auth_token) if auth_token else None


@login_manager.unauthorized_handler
def unauthorized() -> None:
    raise unauthorized_error("A valid bearer token is required.")


def current_login() -> LoginUser:
    """The request's :class:`LoginUser` (flask-login's ``current_user``), inside ``login_required`` views."""
    return cast(LoginUser, current_user)


def token_required(view: F) -> F:
    """flask-login's ``login_required``, with the bearer scheme documented on the operation."""
    documented: F = Blueprint.doc(security=[{BEARER_SCHEME: []}])(login_required(view))
    return documented


def admin_required(view: F) -> F:
    """Like :func:`token_required`, and 403 unless the caller is an admin."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_login().user.is_admin:
            abort(403, "This needs an admin account.")
        return view(*args, **kwargs)

    return token_required(wrapper)  # type: ignore[return-value]  # outermost, so 401 comes before 403


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = None  # token auth: nothing to protect in a session


# --- routes -----------------------------------------------------------------------------------------------


@blp.post("/auth/register")
@require_json
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
@blp.problem_responses(400, 409, 413, 415, 422, 503)
def register(user_in: dict[str, Any]) -> models.User:
    """Create an account.

    409 ``email-taken`` if the email exists in any letter case.
    """
    return services.register_user(session=get_session(), passwords=get_password_hashing(), **user_in)


@blp.post("/auth/token")
@require_form
@blp.arguments(TokenRequestSchema, location="form")
@blp.response(200, TokenSchema)
@blp.problem_responses(400, 401, 413, 415, 422, 429, 503)
def issue_token(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Log in: trade an email and password for a bearer token.

    The OAuth2 password grant (RFC 6749 §4.3): ``username`` is the email. 401 on wrong credentials; 429
    ``login-throttled`` with ``Retry-After`` after repeated failures.
    """
    # the throttle's rules: shared/domain/logins.py
    settings = current_app.config["SHOP_SETTINGS"]
    ttl = settings.token_ttl_seconds
    access_token = services.issue_token(
        session=get_session(),
        passwords=get_password_hashing(),
        email=form["username"],
        password=form["password"],
        # from X-Forwarded-For when the peer is a trusted proxy (FORWARDED_ALLOW_IPS, middleware.py)
        client_address=request.remote_addr or "unknown",
        limits=settings.login_limits(),
        ttl_seconds=ttl,
    )
    if access_token is None:
        raise unauthorized_error("Wrong email or password.")
    token = {"access_token": access_token, "token_type": "bearer", "expires_in": ttl}
    return token, {"Cache-Control": "no-store"}  # a token must not be cached (RFC 6749 §5.1)


@blp.post("/auth/logout")
@token_required
@blp.response(204)
@blp.problem_responses(401, 503)
def logout() -> None:
    """Revoke the token this request was made with."""
    services.revoke_token(session=get_session(), token_id=current_login().auth_token.id)


@blp.get("/users/me")
@token_required
@blp.response(200, UserSchema)
@blp.problem_responses(401, 503)
def read_me() -> models.User:
    """The caller's account."""
    return current_login().user
