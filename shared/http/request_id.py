"""``X-Request-ID``: echo a sane incoming id, otherwise make one.

"Sane" means 1..128 characters from ``[A-Za-z0-9._:-]``: enough for UUIDs and tracing ids, and nothing that
could break a log line or a header.
"""

from __future__ import annotations

import re
import uuid

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_from(incoming: str | None) -> str:
    """Return ``incoming`` if it is sane, else a new random UUID4 hex string (32 chars)."""
    if incoming is not None and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex
