"""Password hashing (argon2id) and opaque bearer tokens stored as SHA-256 digests.

Passwords: argon2-cffi's ``PasswordHasher`` defaults (argon2id, RFC 9106's second recommended profile).
Tokens: 32 random bytes from :mod:`secrets`, URL-safe base64 on the wire; the database keeps only
``sha256(token)``, so a leaked table does not leak usable tokens. Both apps use these functions on the same
tables, so a token issued by one works on the other.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_BYTES = 32

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that "no such user" costs as much as "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """Return an argon2id PHC string (``$argon2id$v=19$...``) for ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; ``None`` (unknown user) costs the same and is False."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str]:
    """Return ``(token, token_hash)``: the opaque token for the client and the hex digest to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """SHA-256 hex digest (64 chars) of a bearer token, as stored in ``auth_tokens.token_hash``."""
    return hashlib.sha256(token.encode()).hexdigest()
