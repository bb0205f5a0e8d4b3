"""The FastAPI app in process, tested the way FastAPI's documentation tests async code: ``httpx.AsyncClient``
on an ``ASGITransport``, and the app's lifespan entered by the fixture. On the throwaway PostgreSQL, through
asyncpg, like the real app. ``app.dependency_overrides`` swaps what routes depend on (the password hashing,
below); the mailer that records what it is sent is given to ``create_app`` instead, because the outbox relay,
which the lifespan starts, depends on nothing and would keep the default one.

These cover what the black-box contract suite cannot reach: what the mailer receives, a mailer that fails,
two relays at once, expired idempotency keys, and the service layer's objects after commit.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from fastapi_shop import outbox, services
from fastapi_shop.db import PoolQueue, create_engine, create_sessionmaker, get_session
from fastapi_shop.main import create_app
from fastapi_shop.resources import get_password_hashing
from shared.config import ConfigError, Settings
from shared.db.models import User
from shared.domain.order_status import OrderStatus
from shared.unavailable import HASHING_BUSY, ServiceUnavailable
from tests.support import (
    RecordingMailer,
    expire_idempotency_key,
    failing_inserts,
    idempotency_keys,
    order_row,
    outbox_row,
)

pytestmark = pytest.mark.anyio
PASSWORD = "correct horse battery"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # asyncpg runs on asyncio


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
async def app(app_settings: Settings, mailer: RecordingMailer) -> AsyncIterator[FastAPI]:
    app = create_app(app_settings, mailer=mailer)
    async with app.router.lifespan_context(app):  # the engine, the session factory and the relay task
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # ASGITransport returns a response once the app is done with the request, its background tasks included
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.fixture
async def sessionmaker(app_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory of its own, as another process (a second relay, say) would have."""
    engine = create_engine(app_settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def new_customer(client: httpx.AsyncClient) -> tuple[int, str, dict[str, str]]:
    """Register a new user; its id, email and ``Authorization`` header."""
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Ada Lovelace"}
    )
    assert registered.status_code == 201, registered.text
    issued = await client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert issued.status_code == 200, issued.text
    return registered.json()["id"], email, {"Authorization": f"Bearer {issued.json()['access_token']}"}


async def place_order(
    client: httpx.AsyncClient, auth: dict[str, str], product_id: int, key: str | None = None
) -> dict[str, Any]:
    headers = auth if key is None else {**auth, "Idempotency-Key": key}
    placed = await client.post(
        "/api/v1/orders", json={"items": [{"product_id": product_id, "quantity": 2}]}, headers=headers
    )
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    return order


class BusyHashing:
    """Password hashing with no free slot: every hash and check is refused, as after the queue's wait."""

    async def hash(self, password: str) -> str:
        raise ServiceUnavailable(HASHING_BUSY)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        raise ServiceUnavailable(HASHING_BUSY)


def test_the_app_refuses_to_start_without_a_session_secret(app_settings: Settings) -> None:
    with pytest.raises(ConfigError, match="SHOP_SESSION_SECRET is not set"):
        create_app(replace(app_settings, session_secret=None))


async def test_a_registration_without_a_free_hashing_slot_is_a_503(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """FastAPI's way to swap what a route depends on: ``app.dependency_overrides``, here the process's bounded
    password hashing (``PasswordHashingDep``), for every request until the override is removed."""
    app.dependency_overrides[get_password_hashing] = BusyHashing
    try:
        body = {"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "full_name": "Ada"}
        refused = await client.post("/api/v1/auth/register", json=body)
    finally:
        app.dependency_overrides.clear()
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["detail"] == HASHING_BUSY
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201  # the real one again


async def test_the_mailer_receives_the_confirmation(
    client: httpx.AsyncClient, mailer: RecordingMailer, product_id: int
) -> None:
    _, email, auth = await new_customer(client)
    order = await place_order(client, auth, product_id)

    (message,) = mailer.sent  # sent by the BackgroundTasks task, through the app's mailer
    assert message["To"] == f"Ada Lovelace <{email}>"
    assert message["Subject"] == f"Your order #{order['id']} is confirmed"
    assert "2 x In-process widget" in message.get_content()
    assert "Total: 25.00 USD" in message.get_content()
    confirmed = await client.get(f"/api/v1/orders/{order['id']}", headers=auth)
    assert confirmed.json()["status"] == "confirmed"


async def test_a_failed_confirmation_leaves_the_order_pending_until_the_relay_delivers_it(
    client: httpx.AsyncClient,
    mailer: RecordingMailer,
    product_id: int,
    database: Session,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, _, auth = await new_customer(client)
    mailer.down = True
    order = await place_order(client, auth, product_id)

    assert order["status"] == "pending"  # the order stands; only its email is late
    assert (outbox_row(database, order["id"]).sent_at, outbox_row(database, order["id"]).attempts) == (
        None,
        1,
    )
    assert order_row(database, order["id"]).status == OrderStatus.PENDING

    mailer.down = False
    await outbox.relay_pending(sessionmaker=sessionmaker, mailer=mailer, older_than=timedelta(0))
    assert mailer.order_ids().count(order["id"]) == 1
    assert outbox_row(database, order["id"]).sent_at is not None
    assert order_row(database, order["id"]).status == OrderStatus.CONFIRMED


async def test_two_relays_never_send_one_confirmation_twice(
    client: httpx.AsyncClient, mailer: RecordingMailer, product_id: int, app_settings: Settings
) -> None:
    _, _, auth = await new_customer(client)
    mailer.down = True  # leave every confirmation to the relays
    order_ids = [(await place_order(client, auth, product_id))["id"] for _ in range(4)]

    slow = RecordingMailer(seconds_per_message=0.05)  # so that the two relays overlap
    engines = [create_engine(app_settings) for _ in range(2)]
    try:
        await asyncio.gather(
            *(
                outbox.relay_pending(
                    sessionmaker=create_sessionmaker(engine), mailer=slow, older_than=timedelta(0)
                )
                for engine in engines
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert [slow.order_ids().count(order_id) for order_id in order_ids] == [1, 1, 1, 1]


async def test_expired_idempotency_keys_are_purged(
    client: httpx.AsyncClient,
    product_id: int,
    database: Session,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    user_id, _, auth = await new_customer(client)
    await place_order(client, auth, product_id, key="old")
    await place_order(client, auth, product_id, key="new")
    expire_idempotency_key(database, user_id, "old")

    await outbox.purge_expired(sessionmaker=sessionmaker)
    assert idempotency_keys(database, user_id) == ["new"]


async def test_a_cancelled_order_comes_back_with_its_cancellation_time(
    client: httpx.AsyncClient, product_id: int, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user_id, _, auth = await new_customer(client)
    order = await place_order(client, auth, product_id)

    async with sessionmaker() as session:
        user = await session.get_one(User, user_id)
        cancelled = await services.cancel_order(session=session, user=user, order_id=order["id"])
    # read after the session is gone: an attribute the flush expired would need a lazy load here, which
    # an AsyncSession cannot do; the UPDATE ... RETURNING loaded it
    assert cancelled.status == OrderStatus.CANCELLED
    assert cancelled.cancelled_at is not None
    assert cancelled.cancelled_at >= cancelled.created_at


async def test_a_failed_statement_never_logs_its_parameters(
    app: FastAPI, database: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500's log names the error, never the statement's parameters: the email, the name, the argon2 hash,
    a token's digest (SQLAlchemy's ``hide_parameters``)."""
    email = f"leak-{uuid.uuid4().hex[:12]}@example.com"
    # the server's view: Starlette re-raises an unhandled error after its 500, which the server logs
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with failing_inserts(database, "users") as message:
            body = {"email": email, "password": PASSWORD, "full_name": "Secret Name"}
            assert (await client.post("/api/v1/auth/register", json=body)).status_code == 500
        assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
        with failing_inserts(database, "auth_tokens"):
            form = {"username": email, "password": PASSWORD}
            assert (await client.post("/api/v1/auth/token", data=form)).status_code == 500
    assert message in caplog.text
    for secret in (email, "Secret Name", "$argon2id$"):
        assert secret not in caplog.text
    assert not re.search("[0-9a-f]{64}", caplog.text)  # a token's SHA-256 digest


async def test_a_confirmation_that_cannot_reach_the_database_is_one_warning(
    app_settings: Settings, mailer: RecordingMailer, caplog: pytest.LogCaptureFixture
) -> None:
    """After the 201, the database is gone: the delivery fails, as expected, leaving the row to the relay;
    one warning says so, and nothing reaches the server as an error of the request."""
    unreachable = create_engine(replace(app_settings, database_url="postgresql://shop@127.0.0.1:1/shop"))
    try:
        await outbox.send_order_confirmation(
            sessionmaker=create_sessionmaker(unreachable), mailer=mailer, order_id=1
        )
    finally:
        await unreachable.dispose()
    (record,) = [r for r in caplog.records if r.name.startswith("shop")]
    assert (record.levelname, record.exc_info) == ("WARNING", None)
    assert "confirmation of order 1 not sent (ConnectionRefusedError" in record.getMessage()
    assert mailer.sent == []


async def test_a_session_whose_database_went_away_closes_with_one_warning(
    sessionmaker: async_sessionmaker[AsyncSession],
    app_settings: Settings,
    database: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The request's connection is cut while its transaction is open; closing the session after the
    response is one warning, not an error of a finished response, and the pool hands out a working
    connection next."""
    sessions = get_session(sessionmaker, PoolQueue(app_settings))
    session = await anext(sessions)
    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    database.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    database.commit()
    await anext(sessions, None)  # the code after ``yield``, which FastAPI runs once the response is sent
    (record,) = [r for r in caplog.records if r.name.startswith("shop")]
    assert (record.levelname, record.exc_info) == ("WARNING", None)
    assert "the request's session did not close cleanly" in record.getMessage()
    async with sessionmaker() as fresh:
        assert (await fresh.execute(text("SELECT 1"))).scalar_one() == 1


async def test_requests_take_the_pool_in_the_order_they_came(app_settings: Settings) -> None:
    """Three requests wait for the one connection; its holder puts it back and at once asks again, before
    they run. SQLAlchemy's pool would hand it straight back to the holder (sqlalchemy/sqlalchemy#7679); the
    queue serves the three first, in order."""
    queue = PoolQueue(replace(app_settings, pool_size=1, max_overflow=0))
    served: list[str] = []

    async def request(name: str) -> None:
        async with queue.turn():
            served.append(name)
            await asyncio.sleep(0)

    holder = queue.turn()
    await holder.__aenter__()
    waiting = [asyncio.create_task(request(name)) for name in ("first", "second", "third")]
    await asyncio.sleep(0)  # each is waiting now
    await holder.__aexit__(None, None, None)
    await request("holder again")  # no await between putting back and asking again
    await asyncio.gather(*waiting)
    assert served == ["first", "second", "third", "holder again"]


async def test_a_request_that_waits_longer_than_the_pool_timeout_is_unavailable(
    app_settings: Settings,
) -> None:
    queue = PoolQueue(replace(app_settings, pool_size=1, max_overflow=0, pool_timeout_seconds=1))
    async with queue.turn():
        with pytest.raises(ServiceUnavailable, match="Every database connection is in use"):
            async with queue.turn():
                pass  # pragma: no cover
    async with queue.turn():  # the turn that timed out took nothing with it
        pass
