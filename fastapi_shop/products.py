"""Catalog: list and read products (public); create and update them (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from fastapi_shop import services
from fastapi_shop.auth import AdminUser
from fastapi_shop.content_types import RequireJSON
from fastapi_shop.db import SessionDep
from fastapi_shop.errors import problem_responses
from fastapi_shop.routing import ShopRoute
from fastapi_shop.schemas import Product, ProductCreate, ProductPage, ProductQuery, ProductUpdate
from shared.db import models
from shared.domain.limits import MAX_DB_ID
from shared.http import api as http_api

router = APIRouter(prefix="/api/v1/products", tags=["catalog"], route_class=ShopRoute)

ProductId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]  # the path's {...:id} convertor (routing.py)
Search = Annotated[ProductQuery, Query()]  # ?limit&offset (PageQuery) and ?q


@router.get("", response_model=ProductPage, responses=problem_responses(400, 414, 422, 503))
async def list_products(session: SessionDep, query: Search) -> ProductPage:
    """List products, ordered by id.

    ``q`` keeps those whose name contains it, in any letter case.
    """
    products, total = await services.list_products(
        session=session, limit=query.limit, offset=query.offset, q=query.q
    )
    items = [Product.model_validate(p) for p in products]
    return ProductPage(items=items, total=total, limit=query.limit, offset=query.offset)


@router.get("/{product_id:id}", response_model=Product, responses=problem_responses(404, 503))
async def get_product(product_id: ProductId, session: SessionDep) -> models.Product:
    """One product.

    404 if there is none with this id.
    """
    return await services.get_product(session=session, product_id=product_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Product,
    dependencies=[RequireJSON],
    responses={
        201: {"headers": http_api.CREATED_HEADERS},
        **problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
    },
)
async def create_product(
    product_in: ProductCreate, admin: AdminUser, session: SessionDep, response: Response
) -> models.Product:
    """Add a product (admins only).

    409 ``sku-taken`` if the SKU exists.
    """
    product = await services.create_product(session=session, actor=admin, **product_in.model_dump())
    response.headers["Location"] = str(router.url_path_for("get_product", product_id=product.id))
    return product


@router.patch(
    "/{product_id:id}",
    response_model=Product,
    dependencies=[RequireJSON],
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 503),
)
async def update_product(
    product_id: ProductId, changes: ProductUpdate, admin: AdminUser, session: SessionDep
) -> models.Product:
    """Change a product (admins only).

    Any of name, description, price_cents and stock; what the body leaves out stays as it is.
    """
    return await services.update_product(
        session=session, actor=admin, product_id=product_id, changes=changes.model_dump(exclude_unset=True)
    )
