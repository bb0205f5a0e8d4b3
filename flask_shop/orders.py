"""Orders: place (idempotently), list, read and cancel the caller's own orders.

After a new order commits, the :class:`ConfirmationSender` extension sends its confirmation through the
outbox row written in the same transaction (see :mod:`flask_shop.outbox`).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, url_for

from flask_shop import services
from flask_shop.auth import current_login, token_required
from flask_shop.content_types import require_json
from flask_shop.db import get_session
from flask_shop.extensions import confirmations
from flask_shop.schemas import (
    IdempotencyKeyHeaderSchema,
    OrderCreateSchema,
    OrderPageSchema,
    OrderSchema,
    PageQuerySchema,
)
from flask_shop.smorest import Blueprint
from shared.db import models
from shared.http import api as http_api
from shared.observability import metrics

blp = Blueprint("orders", __name__, url_prefix="/api/v1/orders", description="Orders")

ORDER_ID = "<id:order_id>"  # 1..MAX_DB_ID in ASCII digits, else 404: flask_shop.routing


ORDER_SCHEMA = OrderSchema()  # built once: a schema instance copies its fields, and dumping reuses them


def render_order(order: models.Order) -> str:
    """The order as the 201 body (``OrderSchema`` JSON); ``place_order`` stores it for replays."""
    return json.dumps(ORDER_SCHEMA.dump(order), separators=(",", ":"), ensure_ascii=False)


# Decorators on every view, in this order: the route; the body's media type; auth; arguments; response;
# documentation. Python applies them bottom-up, so at request time the one nearest the route runs first: a
# body of the wrong type is 415, or 400 if it does not parse, before the token is checked (FastAPI reads
# the body before it resolves dependencies); a request without a valid token is 401 before its body or
# query is validated (and not 422).
@blp.post("")
@require_json
@token_required
@blp.arguments(OrderCreateSchema)
@blp.arguments(IdempotencyKeyHeaderSchema, location="headers")
@blp.response(201, OrderSchema, headers=http_api.ORDER_CREATED_HEADERS)
@blp.problem_responses(400, 401, 409, 413, 415, 422, 503)
def place_order(order_in: dict[str, Any], headers: dict[str, str]) -> Response:
    """Place an order; prices come from the catalog.

    A retry with the same ``Idempotency-Key`` and body replays the first response with
    ``Idempotent-Replayed: true`` and creates nothing.
    """
    placed = services.place_order(
        session=get_session(),
        user=current_login().user,
        lines=[(line["product_id"], line["quantity"]) for line in order_in["items"]],
        idempotency_key=headers.get("idempotency_key"),
        render=render_order,
    )
    response_headers = {"Location": url_for("orders.get_order", order_id=placed.order_id)}
    if placed.replayed:
        response_headers["Idempotent-Replayed"] = "true"
    else:
        metrics.ORDERS_PLACED.inc()
        confirmations.submit(placed.order_id)
    # @blp.response documents the body; a Response skips it, because a replay must send the stored bytes
    # exactly, and the first answer sends the same bytes it stored
    return Response(placed.response_body, 201, response_headers, mimetype="application/json")


@blp.get("")
@token_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, OrderPageSchema)
@blp.problem_responses(400, 401, 414, 422, 503)
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
@blp.problem_responses(401, 404, 503)
def get_order(order_id: int) -> models.Order:
    """One of the caller's orders.

    Someone else's order is 404, as if it did not exist.
    """
    return services.get_order(session=get_session(), user=current_login().user, order_id=order_id)


@blp.post(f"/{ORDER_ID}/cancel")
@token_required
@blp.response(200, OrderSchema)
@blp.problem_responses(401, 404, 409, 503)
def cancel_order(order_id: int) -> models.Order:
    """Cancel an order and restore its stock.

    409 ``order-not-cancellable`` if it is already cancelled.
    """
    return services.cancel_order(session=get_session(), user=current_login().user, order_id=order_id)
