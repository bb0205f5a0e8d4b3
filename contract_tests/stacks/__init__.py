"""Where the apps under test run: the ``local``, ``containers`` and ``url`` stacks, one module each.

A stack gives the tests a base URL per app, the admin's credentials and, where it can, a database URL (for
the few tests that must age a row, e.g. expire a token). Apps are started lazily, one at a time, so
``-k fastapi`` starts only the FastAPI server. The local stack can also put PgBouncer in transaction mode
between the apps and PostgreSQL (``--pooler pgbouncer``).

This module holds what every stack shares and imports no stack, so that the root ``conftest.py`` can read
the options' choices and a run on one stack does not load the others' libraries (Docker's client,
testcontainers).

To add an app, add an :class:`AppTarget` to ``TARGETS``; every test then runs against it too.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "admin@contract-tests.example"
ADMIN_PASSWORD = "contract-tests-admin-password"  # only ever used for a throwaway cluster
# signs the back office's cookies (SHOP_SESSION_SECRET) of the apps the stacks start, for both apps alike
SESSION_SECRET = "contract-tests-session-secret-0123456789"
CORS_ORIGIN = "https://allowed.example"
START_TIMEOUT_SECONDS = 60
STACKS = ("auto", "local", "containers", "url")
POOLERS = ("none", "pgbouncer")


@dataclass(frozen=True)
class AppTarget:
    """One implementation of the contract and how to serve it on 127.0.0.1 as a real server process."""

    name: str
    command: Callable[[int], list[str]]


TARGETS: dict[str, AppTarget] = {
    "fastapi": AppTarget(
        "fastapi",
        lambda port: [
            sys.executable, "-m", "uvicorn", "--factory", "fastapi_shop.main:create_app",
            "--http", "fastapi_shop.server:HttpToolsProtocol",
            "--ws", "fastapi_shop.server:WebSocketProtocol",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        ],
    ),
    "flask": AppTarget(
        "flask",
        lambda port: [
            sys.executable, "-m", "gunicorn", "-c", "flask_shop/gunicorn.conf.py",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "8", "flask_shop:create_app()",
        ],
    ),
}  # fmt: skip


@dataclass
class Deployment:
    """What the tests know about the system under test."""

    admin_email: str
    admin_password: str
    database_url: str | None = None  # None: tests that need the database directly are skipped
    # the DATABASE_URL the apps themselves use (through the pooler, if any, and as the apps' network names
    # it), e.g. to start a variant on another database of the same server; None: the stack does not know it
    app_database_url: str | None = None
    cors_origin: str | None = None  # an origin the apps allow; None: CORS tests are skipped
    relay_seconds: int = 30  # the apps' SHOP_OUTBOX_RELAY_SECONDS: how long a leftover confirmation may wait
    # the apps trust the tests' X-Forwarded-For (FORWARDED_ALLOW_IPS), so a test can log in from several
    # client addresses; False: tests that need that are skipped
    trusts_forwarded_for: bool = False
    # apps reached through a reverse proxy (compose's nginx in front of Flask): the proxy owns the client's
    # connection and reads each request first, so tests of what the app's own HTTP server does on the wire
    # are skipped for them (see skip_if_proxied)
    proxied: frozenset[str] = frozenset()
    _url_for: Callable[[str], str] = field(default=lambda name: "", repr=False)
    # starts one more instance of an app with changed settings; None: tests that need it are skipped
    start_variant: Callable[[str, dict[str, str]], contextlib.AbstractContextManager[str]] | None = None

    def skip_if_proxied(self, app: str) -> None:
        """Skip the calling test for an app behind a proxy: its connection handling, limits and refusals come
        first (nginx, e.g., keeps a connection the app would close, adds ``X-Forwarded-For``, and refuses a
        repeated ``Authorization`` itself)."""
        if app in self.proxied:
            pytest.skip(f"{app} is behind a proxy here, whose own handling of the connection comes first")

    def url(self, app: str) -> str:
        """Base URL of ``app`` (e.g. ``http://127.0.0.1:41234``), starting it if the stack does that."""
        return self._url_for(app)
