"""The Flask app in process, tested the way Flask's documentation tests its tutorial app (flaskr):
``create_app(test_config)``, ``app.test_client()`` and ``app.test_cli_runner()``. On the throwaway PostgreSQL,
through psycopg, like the real app.

These cover what the black-box contract suite cannot reach: what the mailer receives, a mailer that fails,
two relays at once, expired idempotency keys, and that creating the app starts no thread.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session

from flask_shop import create_app, outbox
from flask_shop.db import create_engine, create_sessionmaker, get_session
from flask_shop.extensions import confirmations
from shared.config import ConfigError, Settings
from shared.domain.order_status import OrderStatus
from tests.support import (
    RecordingMailer,
    expire_idempotency_key,
    failing_inserts,
    idempotency_keys,
    order_row,
    outbox_row,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def app(app_settings: Settings, mailer: RecordingMailer) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SHOP_SETTINGS": app_settings, "MAILER": mailer})
    yield app
    confirmations.shutdown(app)  # as gunicorn's worker_exit hook does
    app.extensions["shop.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def new_customer(client: FlaskClient) -> tuple[int, str, dict[str, str]]:
    """Register a new user; its id, email and ``Authorization`` header."""
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    registered = client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Ada Lovelace"}
    )
    assert registered.status_code == 201, registered.text
    issued = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert issued.status_code == 200, issued.text
    token = issued.json["access_token"]  # type: ignore[index]
    return registered.json["id"], email, {"Authorization": f"Bearer {token}"}  # type: ignore[index]


def place_order(
    client: FlaskClient, auth: dict[str, str], product_id: int, key: str | None = None
) -> dict[str, Any]:
    headers = auth if key is None else {**auth, "Idempotency-Key": key}
    placed = client.post(
        "/api/v1/orders", json={"items": [{"product_id": product_id, "quantity": 2}]}, headers=headers
    )
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json  # type: ignore[assignment]
    return order


def test_the_app_refuses_to_start_without_a_session_secret(app_settings: Settings) -> None:
    with pytest.raises(ConfigError, match="SHOP_SESSION_SECRET is not set"):
        create_app({"TESTING": True, "SHOP_SETTINGS": replace(app_settings, session_secret=None)})


def test_creating_the_app_starts_no_thread(app_settings: Settings) -> None:
    before = set(threading.enumerate())
    app = create_app({"TESTING": True, "SHOP_SETTINGS": app_settings})
    try:
        # the relay starts in gunicorn's post_worker_init hook, the confirmation pool on its first order
        assert [thread.name for thread in threading.enumerate() if thread not in before] == []
    finally:
        app.extensions["shop.engine"].dispose()


def test_the_mailer_receives_the_confirmation(
    app: Flask, client: FlaskClient, mailer: RecordingMailer, product_id: int
) -> None:
    _, email, auth = new_customer(client)
    order = place_order(client, auth, product_id)
    confirmations.shutdown(app)  # what gunicorn's worker_exit does: wait for queued confirmations

    (message,) = mailer.sent
    assert message["To"] == f"Ada Lovelace <{email}>"
    assert message["Subject"] == f"Your order #{order['id']} is confirmed"
    assert "2 x In-process widget" in message.get_content()
    assert "Total: 25.00 USD" in message.get_content()
    confirmed = client.get(f"/api/v1/orders/{order['id']}", headers=auth)
    assert confirmed.json["status"] == "confirmed"  # type: ignore[index]


def test_a_failed_confirmation_leaves_the_order_pending_until_the_relay_delivers_it(
    app: Flask,
    client: FlaskClient,
    runner: FlaskCliRunner,
    mailer: RecordingMailer,
    product_id: int,
    database: Session,
) -> None:
    _, _, auth = new_customer(client)
    mailer.down = True
    order = place_order(client, auth, product_id)
    confirmations.shutdown(app)

    assert order["status"] == "pending"  # the order stands; only its email is late
    assert (outbox_row(database, order["id"]).sent_at, outbox_row(database, order["id"]).attempts) == (
        None,
        1,
    )
    assert order_row(database, order["id"]).status == OrderStatus.PENDING

    mailer.down = False
    result = runner.invoke(args=["shop", "relay", "--once", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert mailer.order_ids().count(order["id"]) == 1
    assert outbox_row(database, order["id"]).sent_at is not None
    assert order_row(database, order["id"]).status == OrderStatus.CONFIRMED


def test_two_relays_never_send_one_confirmation_twice(
    app: Flask, client: FlaskClient, mailer: RecordingMailer, product_id: int, app_settings: Settings
) -> None:
    _, _, auth = new_customer(client)
    mailer.down = True  # leave every confirmation to the relays
    order_ids = [place_order(client, auth, product_id)["id"] for _ in range(4)]
    confirmations.shutdown(app)

    slow = RecordingMailer(seconds_per_message=0.05)  # so that the two relays overlap
    engines = [create_engine(app_settings) for _ in range(2)]
    try:
        with ThreadPoolExecutor(max_workers=2) as relays:
            for run in [
                relays.submit(
                    outbox.relay_pending,
                    sessionmaker=create_sessionmaker(engine),
                    mailer=slow,
                    older_than=timedelta(0),
                )
                for engine in engines
            ]:
                run.result()
    finally:
        for engine in engines:
            engine.dispose()
    assert [slow.order_ids().count(order_id) for order_id in order_ids] == [1, 1, 1, 1]


def test_expired_idempotency_keys_are_purged(
    client: FlaskClient, runner: FlaskCliRunner, product_id: int, database: Session
) -> None:
    user_id, _, auth = new_customer(client)
    place_order(client, auth, product_id, key="old")
    place_order(client, auth, product_id, key="new")
    expire_idempotency_key(database, user_id, "old")

    result = runner.invoke(args=["shop", "relay", "--once"])  # a relay round also purges
    assert result.exit_code == 0, result.output
    assert idempotency_keys(database, user_id) == ["new"]


def test_a_failed_statement_never_logs_its_parameters(
    client: FlaskClient, database: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500's log names the error, never the statement's parameters: the email, the name, the argon2 hash,
    a token's digest (SQLAlchemy's ``hide_parameters``)."""
    email = f"leak-{uuid.uuid4().hex[:12]}@example.com"
    with failing_inserts(database, "users") as message:
        body = {"email": email, "password": PASSWORD, "full_name": "Secret Name"}
        assert client.post("/api/v1/auth/register", json=body).status_code == 500
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    with failing_inserts(database, "auth_tokens"):
        form = {"username": email, "password": PASSWORD}
        assert client.post("/api/v1/auth/token", data=form).status_code == 500
    assert message in caplog.text
    for secret in (email, "Secret Name", "$argon2id$"):
        assert secret not in caplog.text
    assert not re.search("[0-9a-f]{64}", caplog.text)  # a token's SHA-256 digest


def test_a_confirmation_that_cannot_reach_the_database_is_one_warning(
    app_settings: Settings, mailer: RecordingMailer, caplog: pytest.LogCaptureFixture
) -> None:
    """After the 201, the database is gone: the delivery fails, as expected, leaving the row to the relay;
    one warning says so."""
    unreachable = create_engine(replace(app_settings, database_url="postgresql://shop@127.0.0.1:1/shop"))
    try:
        outbox.send_order_confirmation(
            sessionmaker=create_sessionmaker(unreachable), mailer=mailer, order_id=1
        )
    finally:
        unreachable.dispose()
    (record,) = [r for r in caplog.records if r.name.startswith("shop")]
    assert (record.levelname, record.exc_info) == ("WARNING", None)
    assert "confirmation of order 1 not sent (sqlalchemy.exc.OperationalError" in record.getMessage()
    assert mailer.sent == []


def test_a_session_whose_database_went_away_closes_with_one_warning(
    app: Flask, database: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """The request's connection is cut while its transaction is open; the teardown that closes the session
    is one warning, not an error that would turn the finished response into a 500, and the pool hands out a
    working connection next."""
    with app.app_context():
        pid = get_session().execute(text("SELECT pg_backend_pid()")).scalar_one()
        database.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        database.commit()
    (record,) = [r for r in caplog.records if r.name.startswith("shop")]
    assert (record.levelname, record.exc_info) == ("WARNING", None)
    assert "the request's session did not close cleanly" in record.getMessage()
    with app.app_context():
        assert get_session().execute(text("SELECT 1")).scalar_one() == 1
