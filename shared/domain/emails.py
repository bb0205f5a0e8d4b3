"""Email addresses: which ones the API accepts, the form it stores, and when two name the same account.

- **Accepted**: what email-validator (the validator Pydantic uses) accepts as a mailbox, with no DNS lookup,
  no quoted local part (``"a b"@example.com``), no display name (``Eve <e@example.com>``) and no domain
  literal (``a@[192.0.2.1]``). Internationalized addresses (RFC 6531) are accepted. So
  ``x,victim@example.com`` and ``semi;x@example.com`` are refused: ``,`` and ``;`` are not ``atext``
  (RFC 5322 §3.2.3), and a header built from them would name two mailboxes.
- **Stored**: email-validator's normalized form: the domain lowercased (IDNA 2008, in Unicode), the local
  part as typed (NFC). ``Ada@Example.COM`` is stored, and shown, as ``Ada@example.com``.
- **Compared** by :func:`account_key`, which is stored too (``users.email_key``, with the unique index):
  the local part by Unicode canonical caseless matching (The Unicode Standard §3.13, D145:
  ``NFD(casefold(NFD(x)))``, stored in NFC), the domain as normalized. Python computes the key, once; the
  database only compares it. (Before, Python's ``str.lower()`` and PostgreSQL's ``lower()`` each computed
  one and disagreed.) Consequences, each tested: the Greek capital sigma, its medial and its final small
  letter fold alike, so an address spelt with any of them is one account; ``ß1`` and ``SS1`` are one
  account (``ß`` folds to ``ss``); ``İ1`` and ``i1`` are two (``İ`` folds to ``i`` + U+0307). The domain
  is not case folded again: IDNA has already lowercased it, and folding would make the distinct domain
  ``straße.de`` into ``strasse.de``.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

MAX_LENGTH = 254  # RFC 5321 §4.5.3.1.3: a path is at most 256 octets, "<" and ">" included

__all__ = ["MAX_LENGTH", "EmailNotValidError", "account_key", "login_key", "normalize", "parse"]


def parse(address: str) -> ValidatedEmail:
    """The parts of ``address`` (``local_part``, ``domain``, ``ascii_domain``, ``normalized``, ``smtputf8``);
    raises :class:`EmailNotValidError` (a :class:`ValueError`) with a sentence saying what is wrong."""
    return validate_email(
        address,
        check_deliverability=False,  # no DNS on a request path; whether mail arrives is the mailer's concern
        allow_smtputf8=True,
        allow_quoted_local=False,
        allow_domain_literal=False,
        allow_display_name=False,
    )


def normalize(address: str) -> str:
    """``address`` in the form the API stores; raises :class:`EmailNotValidError` if it is not accepted."""
    normalized: str = parse(address).normalized
    return normalized


def account_key(address: str) -> str:
    """The key two addresses of one account share, from an address :func:`normalize` accepted (or
    returned): canonical caseless local part (NFC) ``@`` normalized domain."""
    local, _, domain = address.rpartition("@")  # no quoted local part, so the last "@" is the separator
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFD", local).casefold())
    return f"{unicodedata.normalize('NFC', folded)}@{domain}"


def login_key(username: str) -> str | None:
    """The account key a login's ``username`` names, or ``None`` if it is not an address the API accepts
    (then it names no account)."""
    try:
        return account_key(normalize(username))
    except EmailNotValidError:
        return None
