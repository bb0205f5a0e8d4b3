"""The currency and the bounds of every input, shared so that both apps validate identically.

Money is integer minor units (cents) of :data:`CURRENCY`.
"""

from __future__ import annotations

CURRENCY = "USD"

MAX_ORDER_LINES = 50
MAX_LINE_QUANTITY = 100
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,63}$"  # 3..64 chars: upper-case letters, digits, hyphens
MAX_PRICE_CENTS = 100_000_000  # one million dollars
MAX_STOCK = 1_000_000
MAX_DB_ID = 2**31 - 1  # ids are PostgreSQL integers; larger ids cannot exist
PAGE_LIMIT_DEFAULT = 20
PAGE_LIMIT_MAX = 100

# The back office (/admin): a signed-in session ends after this long without a request, and after this long in
# all however busy (OWASP Session Management Cheat Sheet, "Session Expiration": 15-30 minutes idle for
# high-value applications)
ADMIN_SESSION_IDLE_SECONDS = 30 * 60
ADMIN_SESSION_MAX_SECONDS = 8 * 60 * 60
STOCK_REASON_MAX_LENGTH = 200  # the reason a stock adjustment records in the audit trail
