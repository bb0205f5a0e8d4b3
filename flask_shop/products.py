"""Catalog: list and read products (public); create and update them (admins)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from flask_shop import services
from flask_shop.auth import admin_required, current_login
from flask_shop.content_types import require_json
from flask_shop.db import get_session
from flask_shop.schemas import (
    ProductCreateSchema,
    ProductPageSchema,
    ProductQuerySchema,
    ProductSchema,
    ProductUpdateSchema,
)
from flask_shop.smorest import Blueprint
from shared.db import models
from shared.http import api as http_api

blp = Blueprint("catalog", __name__, url_prefix="/api/v1/products", description="Catalog")

PRODUCT_ID = "<id:product_id>"  # 1..MAX_DB_ID in ASCII digits, else 404: flask_shop.routing


@blp.get("")
@blp.arguments(ProductQuerySchema, location="query")
@blp.response(200, ProductPageSchema)
@blp.problem_responses(400, 414, 422, 503)
def list_products(query: dict[str, Any]) -> dict[str, Any]:
    """List products, ordered by id.

    ``q`` keeps those whose name contains it, in any letter case.
    """
    limit, offset = query["limit"], query["offset"]
    products, total = services.list_products(
        session=get_session(), limit=limit, offset=offset, q=query.get("q")
    )
    return {"items": products, "total": total, "limit": limit, "offset": offset}


@blp.get(f"/{PRODUCT_ID}")
@blp.response(200, ProductSchema)
@blp.problem_responses(404, 503)
def get_product(product_id: int) -> models.Product:
    """One product.

    404 if there is none with this id.
    """
    return services.get_product(session=get_session(), product_id=product_id)


@blp.post("")
@require_json
@admin_required
@blp.arguments(ProductCreateSchema)
@blp.response(201, ProductSchema, headers=http_api.CREATED_HEADERS)
@blp.problem_responses(400, 401, 403, 409, 413, 415, 422, 503)
def create_product(product_in: dict[str, Any]) -> tuple[models.Product, int, dict[str, str]]:
    """Add a product (admins only).

    409 ``sku-taken`` if the SKU exists.
    """
    product = services.create_product(session=get_session(), actor=current_login().user, **product_in)
    return product, 201, {"Location": url_for("catalog.get_product", product_id=product.id)}


@blp.patch(f"/{PRODUCT_ID}")
@require_json
@admin_required
@blp.arguments(ProductUpdateSchema)
@blp.response(200, ProductSchema)
@blp.problem_responses(400, 401, 403, 404, 413, 415, 422, 503)
def update_product(changes: dict[str, Any], product_id: int) -> models.Product:
    """Change a product (admins only).

    Any of name, description, price_cents and stock; what the body leaves out stays as it is.
    """
    return services.update_product(
        session=get_session(), actor=current_login().user, product_id=product_id, changes=changes
    )
