"""What the app holds for its lifetime, as typed dependencies: settings, mailer, engine, session factory,
password hashing.

:func:`fastapi_shop.main.create_app` keeps them on ``app.state`` (the engine and session factory from the
lifespan on); this module is the only code that reads ``app.state``, but for the pool queue, whose getter
lives beside it in :mod:`fastapi_shop.db`. Routes declare what they need (``settings: SettingsDep``) and get a
typed value, and a test replaces any of them with ``app.dependency_overrides[get_password_hashing] = ...``
for every request (``tests/test_fastapi_app.py``; the lifespan's relay task is no request: it keeps the
objects ``create_app`` was given). The Flask app keeps the same things in ``app.config`` and
``app.extensions`` (see ``flask_shop/extensions.py``).

Each getter is ``async def`` although it awaits nothing: FastAPI calls a plain ``def`` dependency in its
thread pool, a hop to another thread and back for reading one attribute; an ``async def`` one runs on the
event loop. (A dependency that blocks, on I/O or a lock, is the other way round: plain ``def``.) Each takes
the ``HTTPConnection``, Starlette's base of both ``Request`` and ``WebSocket``, so that the live order
socket (:mod:`fastapi_shop.order_events`) declares them as the routes do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from fastapi_shop.passwords import PasswordHashing
from shared.config import Settings
from shared.db.revisions import SchemaGate
from shared.mailer import Mailer


async def get_settings(connection: HTTPConnection) -> Settings:
    """The app's :class:`Settings`."""
    settings: Settings = connection.app.state.settings
    return settings


async def get_mailer(connection: HTTPConnection) -> Mailer:
    """The mailer that sends order confirmations."""
    mailer: Mailer = connection.app.state.mailer
    return mailer


async def get_engine(connection: HTTPConnection) -> AsyncEngine:
    """The process's connection pool (created by the lifespan)."""
    engine: AsyncEngine = connection.app.state.engine
    return engine


async def get_sessionmaker(connection: HTTPConnection) -> async_sessionmaker[AsyncSession]:
    """The factory of ``AsyncSession``s on :func:`get_engine`'s pool."""
    sessionmaker: async_sessionmaker[AsyncSession] = connection.app.state.sessionmaker
    return sessionmaker


async def get_schema_gate(connection: HTTPConnection) -> SchemaGate:
    """Whether this process already saw the database with its schema (``/readyz``)."""
    gate: SchemaGate = connection.app.state.schema_gate
    return gate


async def get_password_hashing(connection: HTTPConnection) -> PasswordHashing:
    """The process's bounded password hashing (:mod:`fastapi_shop.passwords`)."""
    hashing: PasswordHashing = connection.app.state.password_hashing
    return hashing


SettingsDep = Annotated[Settings, Depends(get_settings)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
SchemaGateDep = Annotated[SchemaGate, Depends(get_schema_gate)]
PasswordHashingDep = Annotated[PasswordHashing, Depends(get_password_hashing)]
