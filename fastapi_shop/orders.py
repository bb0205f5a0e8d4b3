"""Orders: place (idempotently), list, read and cancel the caller's own orders.

After a new order commits, a ``BackgroundTasks`` task sends its confirmation through the outbox row written
in the same transaction (see :mod:`fastapi_shop.outbox`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Path, Query, Response, status
from pydantic import AfterValidator, StringConstraints

from fastapi_shop import outbox, services
from fastapi_shop.auth import CurrentUser
from fastapi_shop.content_types import RequireJSON
from fastapi_shop.db import SessionDep
from fastapi_shop.errors import problem_responses
from fastapi_shop.resources import MailerDep, SessionmakerDep
from fastapi_shop.routing import ShopRoute
from fastapi_shop.schemas import Order, OrderCreate, OrderPage, PageQuery, document_without_null
from shared.db import models
from shared.domain import idempotency
from shared.domain.limits import MAX_DB_ID
from shared.http import api as http_api
from shared.observability import metrics

router = APIRouter(prefix="/api/v1/orders", tags=["orders"], route_class=ShopRoute)

OrderId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]  # the path's {...:id} convertor (routing.py)
Pagination = Annotated[PageQuery, Query()]
# the key, unquoted; an invalid one (InvalidIdempotencyKey, a ValueError) is a 422 naming the header. The
# bounds come before the validator, where Pydantic can document them (after it, it drops the pattern).
ParsedIdempotencyKey = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=idempotency.HEADER_MAX_LENGTH, pattern=idempotency.HEADER_PATTERN
    ),
    AfterValidator(idempotency.parse_idempotency_key),
]
IdempotencyKeyHeader = Annotated[
    ParsedIdempotencyKey | None,  # optional, and documented without a null
    Header(
        alias=idempotency.HEADER,
        description="1..255 printable ASCII characters, bare or as a quoted Structured Field string",
        json_schema_extra=document_without_null,
    ),
]


def render_order(order: models.Order) -> str:
    """The order as the 201 body (``Order`` JSON); ``place_order`` stores it for replays."""
    return Order.model_validate(order).model_dump_json()


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Order,
    dependencies=[RequireJSON],
    responses={
        201: {"headers": http_api.ORDER_CREATED_HEADERS},
        **problem_responses(400, 401, 409, 413, 415, 422, 503),
    },
)
async def place_order(
    order_in: OrderCreate,
    user: CurrentUser,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    mailer: MailerDep,
    background_tasks: BackgroundTasks,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Place an order; prices come from the catalog.

    A retry with the same ``Idempotency-Key`` and body replays the first response with
    ``Idempotent-Replayed: true`` and creates nothing.
    """
    placed = await services.place_order(
        session=session,
        user=user,
        lines=[(line.product_id, line.quantity) for line in order_in.items],
        idempotency_key=idempotency_key,
        render=render_order,
    )
    headers = {"Location": str(router.url_path_for("get_order", order_id=placed.order_id))}
    if placed.replayed:
        headers["Idempotent-Replayed"] = "true"
    else:
        metrics.ORDERS_PLACED.inc()
        background_tasks.add_task(
            outbox.send_order_confirmation,
            sessionmaker=sessionmaker,
            mailer=mailer,
            order_id=placed.order_id,
        )
    # response_model documents the body; a Response skips it, because a replay must send the stored bytes
    # exactly, and the first answer sends the same bytes it stored
    return Response(placed.response_body, status.HTTP_201_CREATED, headers, media_type="application/json")


@router.get("", response_model=OrderPage, responses=problem_responses(400, 401, 414, 422, 503))
async def list_orders(user: CurrentUser, session: SessionDep, page: Pagination) -> OrderPage:
    """The caller's orders, newest first."""
    orders, total = await services.list_orders(
        session=session, user=user, limit=page.limit, offset=page.offset
    )
    items = [Order.model_validate(order) for order in orders]
    return OrderPage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{order_id:id}", response_model=Order, responses=problem_responses(401, 404, 503))
async def get_order(order_id: OrderId, user: CurrentUser, session: SessionDep) -> models.Order:
    """One of the caller's orders.

    Someone else's order is 404, as if it did not exist.
    """
    return await services.get_order(session=session, user=user, order_id=order_id)


@router.post("/{order_id:id}/cancel", response_model=Order, responses=problem_responses(401, 404, 409, 503))
async def cancel_order(order_id: OrderId, user: CurrentUser, session: SessionDep) -> models.Order:
    """Cancel an order and restore its stock.

    409 ``order-not-cancellable`` if it is already cancelled.
    """
    return await services.cancel_order(session=session, user=user, order_id=order_id)
