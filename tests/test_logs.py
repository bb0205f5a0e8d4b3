"""``LOG_FORMAT=json``: each app under its real server (uvicorn; gunicorn with two workers) writes one JSON
object per line, its server's own lines included, with the request's fields on access lines, and never a
password, a token or a hash of either (``shared/observability/logs.py``)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import port_for
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from contract_tests.stacks import TARGETS
from contract_tests.stacks.local import AppServers
from shared.db.models import User
from shared.domain.security import hash_token
from shared.observability.logs import EscapingFormatter, JsonFormatter

PASSWORD = "log-test password 42"


@pytest.fixture(params=list(TARGETS))
def server_log(
    request: pytest.FixtureRequest, app_database_url: str, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """One app under its server with ``LOG_FORMAT=json``, as the contract suite's local stack starts it: its
    URL, and the file its output goes to."""
    with AppServers({"DATABASE_URL": app_database_url, "LOG_FORMAT": "json"}, tmp_path) as servers:
        yield servers.url(request.param), tmp_path / f"{request.param}.log"


def test_json_logs_carry_the_request_and_no_secret(server_log: tuple[str, Path], database: Session) -> None:
    url, log_path = server_log
    email = f"logs-{port_for.select_random()}@example.com"
    with httpx.Client(base_url=url, timeout=10) as client:
        assert (
            client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Log Test"}
            ).status_code
            == 201
        )
        issued = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        token = issued.json()["access_token"]
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        wrong = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD + "!"})
        assert wrong.status_code == 401
        client.get(f"/api/v1/orders?access_token={token}")  # a secret in a query string is not logged either
    password_hash = database.scalar(select(User.password_hash).where(User.email == email))
    assert password_hash is not None
    secrets = {PASSWORD, token, hash_token(token), str(password_hash)}

    # uvicorn's app logs the access line just after the response's last byte: wait for it
    deadline = time.monotonic() + 5
    while me.headers["X-Request-ID"] not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
        assert datetime.fromisoformat(entry["time"]).utcoffset() is not None
    assert any(not entry["logger"].startswith("shop") for entry in entries), "the server's own lines"
    access = {entry["route"]: entry for entry in entries if entry["logger"] == "shop.access"}
    me_line = access["/api/v1/users/me"]
    assert me_line["request_id"] == me.headers["X-Request-ID"]
    assert (me_line["method"], me_line["status"]) == ("GET", 200)
    assert isinstance(me_line["duration_ms"], float)
    whole = log_path.read_text()
    for secret in secrets:
        assert secret not in whole


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("shop.access", logging.INFO, __file__, 1, "line\nbreak %s", ("x",), None)
    record.__dict__.update(extra)
    return record


def test_the_json_formatter_writes_only_named_fields() -> None:
    record = _record(route="/healthz", status=200, password="hunter2", headers={"Authorization": "Bearer t"})
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "line\nbreak x"  # one line on the wire: JSON escapes the newline
    assert "\n" not in JsonFormatter().format(record)
    assert (entry["route"], entry["status"]) == ("/healthz", 200)
    assert "password" not in entry
    assert "headers" not in entry


def test_text_lines_escape_control_characters() -> None:
    assert EscapingFormatter("%(message)s").format(_record()) == "line\\nbreak x"
