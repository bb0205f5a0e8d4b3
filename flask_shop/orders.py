"""Orders: place (idempotently), list, read and cancel the caller's own orders.

After a new order commits, the :class:`ConfirmationSender` extension sends its confirmation through the
outbox row written in the same transaction (see :mod:`flask_shop.outbox`).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from flask_shop import services
from flask_shop.api import Blueprint
from flask_shop.auth import current_login, token_required
from flask_shop.db import get_session
from flask_shop.extensions import confirmations
from flask_shop.schemas import OrderCreateSchema, OrderPageSchema, OrderSchema, PageQuerySchema
from shared.domain import MAX_DB_ID
from shared.idempotency import HEADER as IDEMPOTENCY_KEY_HEADER
from shared.idempotency import parse_idempotency_key
from shared.models import Order

blp = Blueprint("orders", __name__, url_prefix="/api/v1/orders", description="Orders")

ORDER_ID = f"<int(min=1, max={MAX_DB_ID}):order_id>"  # anything else matches no route: 404
IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_KEY_HEADER,
    "required": False,
    "schema": {"type": "string"},
    "description": "1..255 printable ASCII characters, bare or as a quoted Structured Field string",
}


@blp.post("")
@token_required
@blp.arguments(OrderCreateSchema)
@blp.response(201, OrderSchema)
@blp.problem_responses(400, 401, 409, 413, 415, 422)
@blp.doc(parameters=[IDEMPOTENCY_KEY_PARAMETER])
def place_order(order_in: dict[str, Any]) -> Response:
    """Place an order; prices come from the catalog. A retry with the same ``Idempotency-Key`` and body
    replays the first response with ``Idempotent-Replayed: true`` and creates nothing."""
    idempotency_key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    placed = services.place_order(
        session=get_session(),
        user=current_login().user,
        lines=[(line["product_id"], line["quantity"]) for line in order_in["items"]],
        idempotency_key=parse_idempotency_key(idempotency_key) if idempotency_key is not None else None,
        request_body=order_in,
    )
    headers = {"Location": url_for("orders.get_order", order_id=placed.order_id)}
    if placed.replayed:
        headers["Idempotent-Replayed"] = "true"
    else:
        confirmations.submit(placed.order_id)
    return Response(placed.body, 201, headers, mimetype="application/json")


@blp.get("")
@token_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, OrderPageSchema)
@blp.problem_responses(401, 422)
def list_orders(query: dict[str, Any]) -> dict[str, Any]:
    """The caller's orders, newest first."""
    limit, offset = query["limit"], query["offset"]
    orders, total = services.list_orders(
        session=get_session(), user=current_login().user, limit=limit, offset=offset
    )
    return {"items": orders, "total": total, "limit": limit, "offset": offset}


@blp.get(f"/{ORDER_ID}")
@token_required
@blp.response(200, OrderSchema)
@blp.problem_responses(401, 404)
def get_order(order_id: int) -> Order:
    """One of the caller's orders; someone else's order is 404, as if it did not exist."""
    return services.get_order(session=get_session(), user=current_login().user, order_id=order_id)


@blp.post(f"/{ORDER_ID}/cancel")
@token_required
@blp.response(200, OrderSchema)
@blp.problem_responses(401, 404, 409)
def cancel_order(order_id: int) -> Order:
    """Cancel the order and restore its stock. 409 ``order-not-cancellable`` if already cancelled."""
    return services.cancel_order(session=get_session(), user=current_login().user, order_id=order_id)
