"""The ``Authorization`` request header field: which bearer token, if any, a request carries (RFC 6750).

The token itself is opaque (:mod:`shared.domain.security` issues it and stores its SHA-256).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1)
_BEARER_CREDENTIALS = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")


def bearer_token(authorization: Sequence[str]) -> str | None:
    """The token in a request's ``Authorization`` field lines (all of them, in order), or ``None``.

    Exactly one line of the form ``Bearer <b64token>`` is a token (RFC 6750 §2.1: the scheme in any letter
    case, one or more spaces, then the token's characters only). Anything else is no token: another scheme,
    a tab, a comma-separated list, or two ``Authorization`` lines (a singleton field, RFC 9110 §5.3: which
    one the client meant is unknowable).
    """
    if len(authorization) != 1:
        return None
    match = _BEARER_CREDENTIALS.fullmatch(authorization[0])
    return match.group(1) if match else None
