"""Login throttling: failed logins slow down further attempts, per account and per client address.

Two counts, kept in ``login_throttles`` so that every process of both apps shares them:

- **an account from one client address** (``account <address> <account key>``): from the
  ``SHOP_LOGIN_FAILURES_PER_ACCOUNT``-th (5th) failure on, each failure blocks further attempts for 1 s,
  then 2, 4, ... up to 15 minutes. A successful login resets it. This is what stops guessing one
  account's password.
- **a client address across accounts** (``address <address>``): the same from the
  ``SHOP_LOGIN_FAILURES_PER_ADDRESS``-th (100th) failure on, and not reset by a success (else one account the
  attacker owns would reset it). This is what slows credential stuffing: one password tried on many
  accounts from one address.

A count is forgotten after a day without failures. An attempt that arrives while blocked is answered
``429`` with ``Retry-After`` at once: its password is not checked, so it cannot succeed, and it is not
counted, so hammering does not lengthen the block. Unknown and known accounts are counted alike, so the
answers do not tell which addresses are registered.

Why not lock the account (OWASP Authentication Cheat Sheet, "Account Lockout"; Credential Stuffing
Prevention Cheat Sheet): a lockout that anyone can trigger is a way to lock a victim out. Here the count
that stops password guessing belongs to the pair of account and address, so failures from an attacker's
address delay only that address; the victim, from their own address, logs in as usual. No block is longer
than 15 minutes, and none grows while it lasts. An attacker spread over many addresses is held by the
per-address count at each of them, not per account; what stops that for good (a second factor, checks
against breached passwords) is out of this demo's scope.

Client addresses come from the connection, or from ``X-Forwarded-For`` when the peer is a trusted proxy
(``FORWARDED_ALLOW_IPS``, :mod:`shared.config`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, Delete, Integer, Select, case, delete, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.dml import ReturningInsert

from shared import emails
from shared.config import Settings
from shared.domain import DomainError
from shared.models import LoginThrottle

MAX_DELAY_SECONDS = 15 * 60
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class LoginLimits:
    """How many failures are free: of one account from one address, and of one address."""

    per_account: int
    per_address: int

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(settings.login_failures_per_account, settings.login_failures_per_address)


class LoginThrottled(DomainError):
    """A login attempt while the account (from this address) or the address is blocked: ``429``, with
    ``retry_after_seconds`` (>= 1) in ``Retry-After`` (RFC 6585 §4)."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many failed logins. Try again in {retry_after_seconds} seconds.")
        self.retry_after_seconds = retry_after_seconds


def subjects(username: str, client_address: str) -> tuple[str, str]:
    """``(account subject, address subject)`` for a login as ``username`` from ``client_address``. A
    ``username`` that is not an address the API accepts names no account; it is counted under its SHA-256
    (hex), which bounds the subject's length and cannot be mistaken for an account key (no ``@``)."""
    key = emails.login_key(username) or hashlib.sha256(username.encode(errors="surrogatepass")).hexdigest()
    return f"account {client_address} {key}", f"address {client_address}"


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
