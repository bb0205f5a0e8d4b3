"""Every rule violation the API reports, as a :class:`DomainError`.

Raised deep (in the rules of this package and in each app's services), they travel up unchanged to the one
place in each app that answers them: ``errors.py``, through :func:`shared.http.problems.domain_problem`, which
gives each its HTTP status and problem type. Nothing here knows about HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation the API reports as a problem document."""


class NotFound(DomainError):
    """The resource does not exist, or is not the caller's to see (no existence leak)."""


class EmailTaken(DomainError):
    """Registration with an email that already names an account (:func:`shared.domain.emails.account_key`)."""


class SkuTaken(DomainError):
    """A product with this SKU already exists."""


class UnknownProduct(DomainError):
    """An order line names a product id that does not exist."""

    def __init__(self, product_id: int) -> None:
        super().__init__(f"Product {product_id} does not exist.")
        self.product_id = product_id


class InsufficientStock(DomainError):
    """An order line asks for more units than are in stock; the whole order is refused."""

    def __init__(self, product_id: int, requested: int, available: int) -> None:
        super().__init__(f"Product {product_id}: {requested} requested, {available} available.")
        self.product_id = product_id
        self.requested = requested
        self.available = available


class OrderNotCancellable(DomainError):
    """The order's status (a :class:`~shared.domain.order_status.OrderStatus`) does not allow cancelling (it
    is already cancelled)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"An order that is {status} cannot be cancelled.")
        self.status = status


class IdempotencyKeyReused(DomainError):
    """The key was already used by this user with a different request body."""


class IdempotencyKeyInUse(DomainError):
    """A request with this key is still being processed; retry later."""


class LoginThrottled(DomainError):
    """A login attempt while the account (from this address) or the address is blocked
    (:mod:`shared.domain.logins`), with ``retry_after_seconds`` (>= 1) to wait."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many failed logins. Try again in {retry_after_seconds} seconds.")
        self.retry_after_seconds = retry_after_seconds


class StockOutOfRange(DomainError):
    """A stock adjustment would leave the product's stock below 0 or above
    :data:`~shared.domain.limits.MAX_STOCK`; nothing is changed."""

    def __init__(self, product_id: int, stock: int, delta: int) -> None:
        super().__init__(
            f"Product {product_id} has {stock} in stock: adjusting by {delta:+d} would leave {stock + delta}."
        )
        self.product_id = product_id
        self.stock = stock
        self.delta = delta


class NotAnAdmin(DomainError):
    """The right password of an account that may not use the back office (``is_admin`` is false)."""


class OwnAdminRight(DomainError):
    """An admin tried to revoke their own admin right (the last admin could lock everyone out)."""
