"""When a request cannot be served right now, but could be soon: the ``503 service-unavailable`` cases.

A lost, refused or frozen database, a lock or statement that timed out, no free pooled connection, or no
free password-hashing slot: none of these is the client's fault or a bug in the code, and the same request
may well succeed a moment later. Each app answers them with ``503`` and ``Retry-After`` (RFC 9110 §15.6.4,
§10.2.3) through :func:`shared.http.problems.unavailable_problem_for`, never with a ``500``. Nothing was
written: each write is one transaction, which the failure rolls back (or the server does, when the connection
is gone).
"""

from __future__ import annotations

import traceback

from sqlalchemy import exc as sa_exc

RETRY_AFTER_SECONDS = 2
HASH_QUEUE_SECONDS = 1  # how long a request waits for a free password-hashing slot (the apps' passwords.py)
HASHING_BUSY = "Too many password checks are in progress."
"""What ``Retry-After`` says on every 503: long enough for a lock or a pool to free up, short enough that a
restarted database is back by then."""

# SQLSTATEs (PostgreSQL docs, Appendix A) that say "not now" rather than "never"
_TRANSIENT_SQLSTATES = {
    "57014": "A database statement took too long.",  # query_canceled: statement_timeout
    "55P03": "A row this request needs is locked by another transaction.",  # lock_not_available
    "25P03": "A database transaction stayed idle too long.",  # idle_in_transaction_session_timeout
    "40001": "A concurrent transaction conflicted with this one.",  # serialization_failure
    "40P01": "A concurrent transaction conflicted with this one.",  # deadlock_detected
    "53300": "The database has no connection to spare.",  # too_many_connections
    "57P01": "The database is restarting.",  # admin_shutdown
    "57P02": "The database is restarting.",  # crash_shutdown
    "57P03": "The database is starting up.",  # cannot_connect_now
}
_UNREACHABLE = "The database cannot be reached."


def describe(exc: BaseException) -> str:
    """``exc`` in one line for a warning, without a traceback: its qualified type and the first line of its
    message, e.g. ``sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed: ...``."""
    return traceback.format_exception_only(exc)[0].strip().splitlines()[0]


class ServiceUnavailable(Exception):
    """Raised by the apps' own code for a resource that is saturated right now (e.g. password hashing);
    the message is the problem's ``detail``."""


def unavailable_reason(exc: BaseException) -> str | None:
    """The client-facing reason ``exc`` is a ``503``, or ``None`` if it is not one of those cases (a bug:
    ``500``). Covers, for both drivers:

    - :class:`ServiceUnavailable`: its message;
    - SQLAlchemy's pool timeout (every pooled connection busy for ``SHOP_DB_POOL_TIMEOUT_SECONDS``);
    - a statement error whose SQLSTATE is in the table above (lock, statement and idle timeouts,
      serialization failures, a server shutting down or starting up);
    - any other connection-level failure: an invalidated connection, SQLAlchemy's ``OperationalError``
      (psycopg: refused, reset, no answer), or the ``OSError`` asyncpg raises itself when it cannot
      connect (refused, reset, timed out: ``TimeoutError`` is an ``OSError``).
    """
    if isinstance(exc, ServiceUnavailable):
        return str(exc)
    if isinstance(exc, sa_exc.TimeoutError):
        return "Every database connection is in use."
    # SQLAlchemy wraps the driver's error in .orig; asyncpg's own errors at connect time are not wrapped
    sqlstate = getattr(getattr(exc, "orig", exc), "sqlstate", None)
    if sqlstate in _TRANSIENT_SQLSTATES:
        return _TRANSIENT_SQLSTATES[sqlstate]
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return _UNREACHABLE
    if isinstance(exc, sa_exc.OperationalError) and sqlstate is None:
        return _UNREACHABLE
    if isinstance(exc, OSError) or (sqlstate or "").startswith("08"):  # class 08: connection exception
        return _UNREACHABLE
    return None
