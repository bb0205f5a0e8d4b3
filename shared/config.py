"""Configuration read from the environment, parsed and validated once.

- ``DATABASE_URL``: a plain ``postgresql://`` URL (default: :data:`DEFAULT_DATABASE_URL`)
- ``SHOP_DB_POOL_SIZE`` (5) and ``SHOP_DB_MAX_OVERFLOW`` (10): connections kept open, and extra ones
  allowed under load, per process
- ``SHOP_DB_TRANSACTION_POOLER`` (false): true when ``DATABASE_URL`` points at a pooler in transaction mode
  (PgBouncer ``pool_mode = transaction``): the apps then use no server-side prepared statements, and send
  no session settings (the timeouts below): set those in the pooler or on the database role instead
- ``SHOP_LISTEN_DATABASE_URL`` (default: ``DATABASE_URL``): where each process's one ``LISTEN`` connection
  goes, for the live order sockets (:mod:`shared.http.sockets`). It must reach PostgreSQL itself: a pooler in
  transaction mode cannot carry ``LISTEN``, so behind PgBouncer point it past the pooler
- ``SHOP_MAX_SOCKETS_PER_WORKER`` (1000): live order sockets one server process holds at once; one more is
  closed at once with code 1013 (try again later). ``0``: the process serves none and opens no ``LISTEN``
  connection, for a server whose sockets another one serves (the Flask API's, beside ``flask-events``)
- ``SHOP_DB_CONNECT_TIMEOUT_SECONDS`` (3): how long opening a connection may take
- ``SHOP_DB_POOL_TIMEOUT_SECONDS`` (3): how long a request waits for a pooled connection when all are in use
- ``SHOP_DB_STATEMENT_TIMEOUT_MS`` (5000), ``SHOP_DB_LOCK_TIMEOUT_MS`` (2000) and
  ``SHOP_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS`` (10000): PostgreSQL's ``statement_timeout``, ``lock_timeout``
  and ``idle_in_transaction_session_timeout`` for each of the apps' connections; 0 turns one off. The apps
  also give up waiting for any answer one second after the statement timeout, for a server that cannot
  enforce it (stopped, or unreachable)
- ``SHOP_PASSWORD_HASH_CONCURRENCY`` (2): argon2 hashes computed at once per process; more wait up to a
  second, then get a 503
- ``SHOP_LOGIN_FAILURES_PER_ACCOUNT`` (5) and ``SHOP_LOGIN_FAILURES_PER_ADDRESS`` (100): failed logins (of
  one account from one client address; from one client address) before further attempts are delayed, 1 s
  and doubling up to 15 minutes (:mod:`shared.domain.logins`)
- ``FORWARDED_ALLOW_IPS`` (``127.0.0.1,::1``): comma-separated addresses or networks of trusted proxies, or
  ``*``; a request from one of them has its client address taken from ``X-Forwarded-For``. The same
  variable uvicorn and gunicorn read; the Flask app applies it itself (``flask_shop.middleware``)
- ``CORS_ORIGINS``: comma-separated origins allowed to call the API from a browser (default: none)
- ``LOG_LEVEL``: a :mod:`logging` level name (default ``INFO``)
- ``LOG_FORMAT``: ``text`` (default) or ``json``, one object per line (:mod:`shared.observability.logs`)
- ``SHOP_TOKEN_TTL_SECONDS``: access token lifetime in seconds (default 86400)
- ``SHOP_OUTBOX_RELAY_SECONDS``: how often unsent outbox rows are retried, in seconds (default 30)
- ``SHOP_ADMIN_EMAIL`` and ``SHOP_ADMIN_PASSWORD``: the admin account the seed creates
- ``SHOP_SESSION_SECRET``: signs the back office's session cookie (``/admin``), at least 32 characters, the
  same for every worker and replica of both apps. No default: an app without it refuses to start (the
  development setups, compose's override and the test stacks, set one of their own)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL, make_url

from shared.domain.logins import LoginLimits

# the development database of compose (docker-compose.yml; docker-compose.override.yml publishes it on
# localhost)
DEFAULT_DATABASE_URL = "postgresql://shop:shop-dev-password@localhost:5432/shop"


LOG_FORMATS = ("text", "json")  # shared.observability.logs.configure
SESSION_SECRET_MIN_LENGTH = 32  # characters of SHOP_SESSION_SECRET


class ConfigError(ValueError):
    """An environment variable is present but cannot be used."""


def _int(name: str, default: int, *, minimum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ConfigError(f"{name} must be true/false, 1/0 or yes/no, got {raw!r}")


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _list(name: str, default: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, default).split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Validated settings; build one with :meth:`from_env`."""

    database_url: str = DEFAULT_DATABASE_URL
    pool_size: int = 5
    max_overflow: int = 10
    transaction_pooler: bool = False
    listen_database_url: str = DEFAULT_DATABASE_URL
    max_sockets_per_worker: int = 1000
    connect_timeout_seconds: int = 3
    pool_timeout_seconds: int = 3
    statement_timeout_ms: int = 5000
    lock_timeout_ms: int = 2000
    idle_in_transaction_timeout_ms: int = 10000
    password_hash_concurrency: int = 2
    login_failures_per_account: int = 5
    login_failures_per_address: int = 100
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    cors_origins: tuple[str, ...] = ()
    log_level: str = "INFO"
    log_format: str = "text"
    token_ttl_seconds: int = 86400
    outbox_relay_seconds: int = 30
    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    session_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> Settings:
        """Read the variables in the module docstring; raises :class:`ConfigError` on bad values."""
        url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        if make_url(url).get_backend_name() != "postgresql":
            raise ConfigError(f"DATABASE_URL must be a postgresql:// URL, got {url!r}")
        listen_url = os.environ.get("SHOP_LISTEN_DATABASE_URL") or url
        if make_url(listen_url).get_backend_name() != "postgresql":
            raise ConfigError(f"SHOP_LISTEN_DATABASE_URL must be a postgresql:// URL, got {listen_url!r}")
        origins = _list("CORS_ORIGINS", "")
        session_secret = os.environ.get("SHOP_SESSION_SECRET") or None
        if session_secret is not None and len(session_secret) < SESSION_SECRET_MIN_LENGTH:
            raise ConfigError(
                f"SHOP_SESSION_SECRET must be at least {SESSION_SECRET_MIN_LENGTH} characters long"
            )
        return cls(
            database_url=url,
            pool_size=_int("SHOP_DB_POOL_SIZE", 5, minimum=1),
            max_overflow=_int("SHOP_DB_MAX_OVERFLOW", 10, minimum=0),
            transaction_pooler=_bool("SHOP_DB_TRANSACTION_POOLER", False),
            listen_database_url=listen_url,
            max_sockets_per_worker=_int("SHOP_MAX_SOCKETS_PER_WORKER", 1000, minimum=0),
            connect_timeout_seconds=_int("SHOP_DB_CONNECT_TIMEOUT_SECONDS", 3, minimum=1),
            pool_timeout_seconds=_int("SHOP_DB_POOL_TIMEOUT_SECONDS", 3, minimum=1),
            statement_timeout_ms=_int("SHOP_DB_STATEMENT_TIMEOUT_MS", 5000, minimum=0),
            lock_timeout_ms=_int("SHOP_DB_LOCK_TIMEOUT_MS", 2000, minimum=0),
            idle_in_transaction_timeout_ms=_int("SHOP_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 10000, minimum=0),
            password_hash_concurrency=_int("SHOP_PASSWORD_HASH_CONCURRENCY", 2, minimum=1),
            login_failures_per_account=_int("SHOP_LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1),
            login_failures_per_address=_int("SHOP_LOGIN_FAILURES_PER_ADDRESS", 100, minimum=1),
            forwarded_allow_ips=_list("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
            cors_origins=origins,
            log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
            log_format=_choice("LOG_FORMAT", "text", LOG_FORMATS),
            token_ttl_seconds=_int("SHOP_TOKEN_TTL_SECONDS", 86400, minimum=1),
            outbox_relay_seconds=_int("SHOP_OUTBOX_RELAY_SECONDS", 30, minimum=1),
            admin_email=os.environ.get("SHOP_ADMIN_EMAIL") or None,
            admin_password=os.environ.get("SHOP_ADMIN_PASSWORD") or None,
            session_secret=session_secret,
        )

    def require_session_secret(self) -> str:
        """The secret that signs the back office's session cookie; raises :class:`ConfigError` when it is
        unset, which stops an app at start-up rather than at its first sign-in."""
        if self.session_secret is None:
            raise ConfigError(
                "SHOP_SESSION_SECRET is not set: it signs the session cookie of the back office (/admin). Set"
                " it to the same random value, at least 32 characters, for every worker and replica, e.g."
                " python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return self.session_secret

    def login_limits(self) -> LoginLimits:
        """The free failed logins, per account from one address and per address."""
        return LoginLimits(self.login_failures_per_account, self.login_failures_per_address)

    def engine_options(self) -> dict[str, Any]:
        """What both apps' engines take from these settings, as ``create_engine`` keyword arguments: the pool
        (``pool_size`` kept, ``max_overflow`` extra, ``pool_timeout`` seconds to wait for one), a ping at
        checkout that replaces a connection the server dropped (a restart), and statement parameters kept
        out of error messages, and so out of the logs (emails, hashes)."""
        return {
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.pool_timeout_seconds,
            "pool_pre_ping": True,
            "hide_parameters": True,
        }

    def session_settings(self) -> dict[str, str]:
        """The PostgreSQL settings each app connection starts with, in milliseconds: ``statement_timeout``,
        ``lock_timeout`` and ``idle_in_transaction_session_timeout`` (PostgreSQL docs, "Client Connection
        Defaults"). Empty behind a transaction pooler, which cannot pass them on (PgBouncer refuses startup
        parameters it does not track)."""
        if self.transaction_pooler:
            return {}
        return {
            "statement_timeout": str(self.statement_timeout_ms),
            "lock_timeout": str(self.lock_timeout_ms),
            "idle_in_transaction_session_timeout": str(self.idle_in_transaction_timeout_ms),
        }

    def answer_deadline_seconds(self) -> float | None:
        """How long a client waits for any one answer from the database before it gives the connection up:
        one second more than ``statement_timeout``, so the server's own timeout, with its clear error, comes
        first; ``None`` (no limit) when the statement timeout is off."""
        return self.statement_timeout_ms / 1000 + 1 if self.statement_timeout_ms else None

    def url_for_driver(self, driver: str) -> URL:
        """The database URL with the given SQLAlchemy driver, e.g. ``"asyncpg"`` or ``"psycopg"``.

        ``DATABASE_URL`` stays a plain ``postgresql://`` URL (what ``psql`` and Docker images use); each
        app picks its own driver here.
        """
        return make_url(self.database_url).set(drivername=f"postgresql+{driver}")
