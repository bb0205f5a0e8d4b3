"""The audit trail of the back office: what an admin did, named once for both apps.

Every admin write adds one ``audit_entries`` row (:class:`shared.db.models.AuditEntry`) in the transaction
of the change itself, so the trail has a row exactly when the change happened. ``before`` and ``after`` hold
JSON values: for a change, the fields it changed (a stock adjustment adds its ``delta`` and ``reason`` to
``after``); for a created row, ``after`` is all its audited fields and ``before`` is empty.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class AuditAction(enum.StrEnum):
    """What an admin did; the value is what ``audit_entries.action`` stores."""

    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    STOCK_ADJUSTED = "product.stock_adjusted"
    ORDER_CANCELLED = "order.cancelled"
    USER_CREATED = "user.created"
    ADMIN_GRANTED = "user.admin_granted"
    ADMIN_REVOKED = "user.admin_revoked"


def changed_fields(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose value differs, as ``(before, after)`` with the same keys: ``{"price_cents": 100}``,
    ``{"price_cents": 120}``. Keys only in ``after`` count as changed from ``None``."""
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}
