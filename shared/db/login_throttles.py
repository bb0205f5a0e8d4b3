"""The statements of login throttling (:mod:`shared.domain.logins` says who is throttled and for how
long): the counts live in ``login_throttles``, so that every process of both apps shares them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Delete, Integer, Select, case, delete, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.dml import ReturningInsert

from shared.db.models import LoginThrottle
from shared.domain.logins import FORGET_AFTER, MAX_DELAY_SECONDS


def hold(subject: str) -> ReturningInsert[tuple[str]]:
    """Lock the subject's row for this transaction, creating it (with no failures) if it is new.

    A login holds its account subject while it checks the password, so concurrent attempts at one account
    from one address take turns: each sees the failures of the ones before it, and none slips past the
    count. A new row disappears with the transaction unless a failure is recorded in it.
    """
    new_row = insert(LoginThrottle).values(subject=subject, failures=0, last_failure_at=func.now())
    return new_row.on_conflict_do_update(
        index_elements=[LoginThrottle.subject], set_={"subject": new_row.excluded.subject}
    ).returning(LoginThrottle.subject)


def seconds_blocked(*subject: str) -> Select[int]:
    """Whole seconds (rounded up) until the last of the subjects' blocks ends; ``NULL`` if none is
    blocked."""
    remaining = func.max(LoginThrottle.blocked_until) - func.now()
    return select(func.ceil(func.extract("epoch", remaining)).cast(Integer)).where(
        LoginThrottle.subject.in_(subject), LoginThrottle.blocked_until > func.now()
    )


def record_failure(subject: str, free_failures: int) -> ReturningInsert[tuple[int]]:
    """Count one failure of ``subject`` and set its block; returns the new count.

    One statement (``INSERT ... ON CONFLICT DO UPDATE``), so concurrent failures from several processes
    all count. A count whose last failure is older than ``FORGET_AFTER`` starts again at one.
    """
    forgotten = LoginThrottle.last_failure_at < func.now() - FORGET_AFTER
    failures = case((forgotten, 1), else_=LoginThrottle.failures + 1)
    new_row = insert(LoginThrottle).values(
        subject=subject,
        failures=1,
        last_failure_at=func.now(),
        blocked_until=_blocked_until(literal(1), free_failures),
    )
    return new_row.on_conflict_do_update(
        index_elements=[LoginThrottle.subject],
        set_={
            "failures": failures,
            "last_failure_at": func.now(),
            "blocked_until": _blocked_until(failures, free_failures),
        },
    ).returning(LoginThrottle.failures)


def _blocked_until(failures: ColumnElement[int], free_failures: int) -> ColumnElement[object]:
    """``now() + 2^(failures - free) s``, at most ``MAX_DELAY_SECONDS``; ``NULL`` while failures are free.
    The exponent stops at 10 (1024 s, beyond the cap), so no count overflows ``power``."""
    seconds = func.least(func.power(2, func.least(failures - free_failures, 10)), MAX_DELAY_SECONDS)
    # make_interval(years, months, weeks, days, hours, mins, secs)
    delay = func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    return case((failures >= free_failures, func.now() + delay), else_=None)


def forget(subject: str) -> Delete:
    """Reset ``subject`` (a successful login resets its account subject)."""
    return delete(LoginThrottle).where(LoginThrottle.subject == subject)


def purge_forgotten() -> Delete:
    """Delete the counts nobody needs any more: unblocked, and last failed over ``FORGET_AFTER`` ago."""
    return delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < func.now() - FORGET_AFTER,
        (LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until <= func.now()),
    )
