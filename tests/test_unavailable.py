"""Which failures are a ``503 service-unavailable`` (retry later) and which are a bug (``500``)."""

from __future__ import annotations

import asyncpg
import psycopg
import pytest
from sqlalchemy import exc as sa_exc

from shared.unavailable import ServiceUnavailable, describe, unavailable_reason


def wrapped(error: Exception, *, invalidated: bool = False) -> sa_exc.StatementError:
    """``error`` as SQLAlchemy raises a driver's error."""
    return sa_exc.DBAPIError.instance(
        "SELECT 1", {}, error, psycopg.Error, connection_invalidated=invalidated
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            wrapped(psycopg.errors.LockNotAvailable()),
            "A row this request needs is locked by another transaction.",
        ),
        (wrapped(psycopg.errors.QueryCanceled()), "A database statement took too long."),
        (
            wrapped(psycopg.errors.IdleInTransactionSessionTimeout()),
            "A database transaction stayed idle too long.",
        ),
        (wrapped(psycopg.errors.AdminShutdown()), "The database is restarting."),
        (wrapped(psycopg.errors.CannotConnectNow()), "The database is starting up."),
        (wrapped(psycopg.errors.TooManyConnections()), "The database has no connection to spare."),
        (
            wrapped(psycopg.errors.SerializationFailure()),
            "A concurrent transaction conflicted with this one.",
        ),
        (
            wrapped(psycopg.OperationalError("connection failed: Connection refused")),
            "The database cannot be reached.",
        ),
        (
            wrapped(psycopg.InterfaceError("the connection is closed"), invalidated=True),
            "The database cannot be reached.",
        ),
        (
            sa_exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached"),
            "Every database connection is in use.",
        ),
        (
            ConnectionRefusedError(111, "Connect call failed"),
            "The database cannot be reached.",
        ),  # asyncpg, connecting
        (TimeoutError(), "The database cannot be reached."),  # asyncpg's connect or command timeout
        (asyncpg.exceptions.CannotConnectNowError("starting up"), "The database is starting up."),
        (
            ServiceUnavailable("Too many password checks are in progress."),
            "Too many password checks are in progress.",
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else "",
)
def test_failures_that_may_pass_soon_are_unavailable(error: BaseException, reason: str) -> None:
    assert unavailable_reason(error) == reason


@pytest.mark.parametrize(
    "error",
    [
        wrapped(psycopg.errors.UniqueViolation()),  # a constraint the code should have handled
        wrapped(psycopg.errors.UndefinedTable()),  # a missing migration
        wrapped(psycopg.errors.RaiseException()),  # a trigger's error
        sa_exc.InvalidRequestError("This session is in 'prepared' state"),
        KeyError("items"),
    ],
    ids=lambda value: type(getattr(value, "orig", value)).__name__,
)
def test_bugs_are_not_unavailable(error: BaseException) -> None:
    assert unavailable_reason(error) is None


def test_a_description_is_one_line_without_a_traceback() -> None:
    error = wrapped(psycopg.errors.LockNotAvailable("canceling statement due to lock timeout\nCONTEXT: ..."))
    assert describe(error).startswith("sqlalchemy.exc.OperationalError: (psycopg.errors.LockNotAvailable)")
    assert "\n" not in describe(error)
