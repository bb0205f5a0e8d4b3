"""Accounts: register, OAuth2 password-grant tokens, logout, ``/users/me``, and the auth dependencies.

Tokens are opaque bearer tokens checked against ``auth_tokens`` (see :mod:`shared.domain.security`), the same
table the Flask app reads, so a token from either app works on both.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordBearer
from starlette.requests import HTTPConnection

from fastapi_shop import services
from fastapi_shop.content_types import RequireForm, RequireJSON
from fastapi_shop.db import SessionDep
from fastapi_shop.errors import problem_responses
from fastapi_shop.resources import PasswordHashingDep, SettingsDep
from fastapi_shop.routing import ShopRoute
from fastapi_shop.schemas import Token, TokenRequest, User, UserCreate
from shared.db import models
from shared.http.authorization import bearer_token

router = APIRouter(prefix="/api/v1", tags=["accounts"], route_class=ShopRoute)


class BearerToken(OAuth2PasswordBearer):
    """FastAPI's OAuth2 password-flow scheme (it documents the flow, so ``/docs`` can log in), reading the
    header as :func:`shared.http.authorization.bearer_token` does: strictly, as the Flask app does."""

    async def __call__(self, request: HTTPConnection) -> str | None:
        return bearer_token(request.headers.getlist("Authorization"))


# scheme_name: OAuth2PasswordBearer's own default (the class name), which the Flask document uses too
oauth2_scheme = BearerToken(
    tokenUrl="/api/v1/auth/token", scheme_name="OAuth2PasswordBearer", auto_error=False
)
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


# --- dependencies -----------------------------------------------------------------------------------------


async def get_current_token(
    session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> models.AuthToken:
    """The caller's valid token row (with its user); 401 if missing, unknown, expired or revoked."""
    auth_token = await services.authenticate_token(session=session, token=token) if token else None
    if auth_token is None:
        raise HTTPException(401, "A valid bearer token is required.", headers=UNAUTHORIZED_HEADERS)
    return auth_token


CurrentToken = Annotated[models.AuthToken, Depends(get_current_token)]


async def get_current_user(auth_token: CurrentToken) -> models.User:
    return auth_token.user


CurrentUser = Annotated[models.User, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> models.User:
    """The caller if they are an admin; 403 otherwise."""
    if not user.is_admin:
        raise HTTPException(403, "This needs an admin account.")
    return user


AdminUser = Annotated[models.User, Depends(get_admin_user)]


# --- routes -----------------------------------------------------------------------------------------------


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=User,
    dependencies=[RequireJSON],
    responses=problem_responses(400, 409, 413, 415, 422, 503),
)
async def register(user_in: UserCreate, session: SessionDep, passwords: PasswordHashingDep) -> models.User:
    """Create an account.

    409 ``email-taken`` if the email exists in any letter case.
    """
    return await services.register_user(session=session, passwords=passwords, **user_in.model_dump())


@router.post(
    "/auth/token",
    response_model=Token,
    dependencies=[RequireForm],
    responses=problem_responses(400, 401, 413, 415, 422, 429, 503),
)
async def issue_token(
    form: Annotated[TokenRequest, Form()],
    session: SessionDep,
    passwords: PasswordHashingDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> Token:
    """Log in: trade an email and password for a bearer token.

    The OAuth2 password grant (RFC 6749 §4.3): ``username`` is the email. 401 on wrong credentials; 429
    ``login-throttled`` with ``Retry-After`` after repeated failures.
    """
    # the throttle's rules: shared/domain/logins.py
    ttl = settings.token_ttl_seconds
    access_token = await services.issue_token(
        session=session,
        passwords=passwords,
        email=form.username,
        password=form.password,
        # uvicorn takes it from X-Forwarded-For when the peer is a trusted proxy (FORWARDED_ALLOW_IPS)
        client_address=request.client.host if request.client else "unknown",
        limits=settings.login_limits(),
        ttl_seconds=ttl,
    )
    if access_token is None:
        raise HTTPException(401, "Wrong email or password.", headers=UNAUTHORIZED_HEADERS)
    response.headers["Cache-Control"] = "no-store"  # a token must not be cached (RFC 6749 §5.1)
    return Token(access_token=access_token, token_type="bearer", expires_in=ttl)  # noqa: S106


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 503))
async def logout(auth_token: CurrentToken, session: SessionDep) -> None:
    """Revoke the token this request was made with."""
    await services.revoke_token(session=session, token_id=auth_token.id)


@router.get("/users/me", response_model=User, responses=problem_responses(401, 503))
async def read_me(user: CurrentUser) -> models.User:
    """The caller's account."""
    return user
