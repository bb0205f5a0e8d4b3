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

The counts are kept by the statements of :mod:`shared.db.login_throttles`; a blocked attempt raises
:class:`~shared.domain.exceptions.LoginThrottled`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from shared.domain import emails

MAX_DELAY_SECONDS = 15 * 60
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class LoginLimits:
    """How many failures are free: of one account from one address, and of one address."""

    per_account: int
    per_address: int


def subjects(username: str, client_address: str) -> tuple[str, str]:
    """``(account subject, address subject)`` for a login as ``username`` from ``client_address``. A
    ``username`` that is not an address the API accepts names no account; it is counted under its SHA-256
    (hex), which bounds the subject's length and cannot be mistaken for an account key (no ``@``)."""
    key = emails.login_key(username) or hashlib.sha256(username.encode(errors="surrogatepass")).hexdigest()
    return f"account {client_address} {key}", f"address {client_address}"
