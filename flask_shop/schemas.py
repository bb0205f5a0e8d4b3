"""marshmallow schemas for every request and response; with flask-smorest they drive the OpenAPI document.

Request schemas are strict (``Integer(strict=True)`` refuses ``"1"``, ``1.5`` and ``true``) and, marshmallow's
default, refuse unknown members. Limits come from :mod:`shared.domain`, so the FastAPI app enforces the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from shared.domain import emails, idempotency, limits
from shared.domain.order_status import OrderStatus
from shared.domain.pricing import check_each_product_once
from shared.http import api as http_api
from shared.http import inputs


class UtcTimestamp(fields.DateTime):
    """A timezone-aware datetime rendered by :func:`shared.http.api.format_timestamp` (``...123456Z``); a
    ``DateTime`` field, so apispec documents it as one (``format: date-time``)."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else http_api.format_timestamp(value)


class Text(fields.String):
    """Text the database stores or searches: no NUL (:mod:`shared.http.inputs`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        try:
            return inputs.check_text(text)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from exc


class Email(Text):
    """An address email-validator accepts (:mod:`shared.domain.emails`), loaded in its normalized form; not
    marshmallow's ``fields.Email``, whose own pattern would make the two apps disagree."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=validate.Length(max=emails.MAX_LENGTH), metadata={"format": "email"}, **kwargs
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return emails.normalize(text)
        except emails.EmailNotValidError as exc:
            raise ma.ValidationError(str(exc)) from exc


class UrlInteger(fields.Integer):
    """An integer in a query string: ASCII digits only (``int()`` takes ``+1``, ``1_0``, other scripts)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            inputs.check_decimal_digits(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from exc
        number: int = super()._deserialize(value, attr, data, **kwargs)
        return number


def _strict_int(*, minimum: int, maximum: int, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


def _name(**kwargs: Any) -> Text:
    return Text(validate=validate.Length(min=1, max=limits.NAME_MAX_LENGTH), **kwargs)


class ResponseSchema(ma.Schema):
    """A response body: every member is always there (``required`` in the OpenAPI document, ``null`` where
    ``allow_none`` says so), and the document does not forbid members a later version may add (no
    ``additionalProperties: false``, which apispec writes for marshmallow's default ``unknown = RAISE``).
    Response schemas only dump, so neither setting changes what the app sends."""

    class Meta:
        unknown = ma.EXCLUDE

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        field_obj.required = True


# --- accounts ---------------------------------------------------------------------------------------------


class UserCreateSchema(ma.Schema):
    email = Email(required=True)
    password = Text(
        required=True,
        validate=validate.Length(min=limits.PASSWORD_MIN_LENGTH, max=limits.PASSWORD_MAX_LENGTH),
        load_only=True,
    )
    full_name = _name(required=True)


class UserSchema(ResponseSchema):
    id = fields.Integer()
    email = fields.String()
    full_name = fields.String()
    is_admin = fields.Boolean()
    created_at = UtcTimestamp()


class TokenRequestSchema(ma.Schema):
    """OAuth2 password grant form (RFC 6749 §4.3.2); ``username`` is the email."""

    class Meta:
        unknown = ma.EXCLUDE  # clients may send scope, client_id and the like

    grant_type = fields.String(validate=validate.Equal("password"))
    username = Text(required=True, validate=validate.Length(min=1))
    password = Text(required=True, validate=validate.Length(min=1), load_only=True)

    @ma.pre_load
    def _empty_fields_are_left_out(self, form: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        # "grant_type=" is no grant type and "username=" no username, as FastAPI reads forms
        return {name: value for name, value in form.items() if value != ""}


class TokenSchema(ResponseSchema):
    """OAuth2 access token response (RFC 6749 §5.1); ``expires_in`` is in seconds."""

    access_token = fields.String()
    token_type = fields.String(validate=validate.OneOf(["bearer"]))
    expires_in = fields.Integer()


# --- catalog ----------------------------------------------------------------------------------------------


class ProductCreateSchema(ma.Schema):
    sku = fields.String(required=True, validate=validate.Regexp(limits.SKU_PATTERN))
    name = _name(required=True)
    description = Text(load_default="", validate=validate.Length(max=limits.DESCRIPTION_MAX_LENGTH))
    price_cents = _strict_int(minimum=0, maximum=limits.MAX_PRICE_CENTS, required=True)
    stock = _strict_int(minimum=0, maximum=limits.MAX_STOCK, required=True)


class ProductUpdateSchema(ma.Schema):
    """Partial update: members left out stay as they are; ``null`` is not a value (``allow_none`` is off)."""

    name = _name()
    description = Text(validate=validate.Length(max=limits.DESCRIPTION_MAX_LENGTH))
    price_cents = _strict_int(minimum=0, maximum=limits.MAX_PRICE_CENTS)
    stock = _strict_int(minimum=0, maximum=limits.MAX_STOCK)


class ProductSchema(ResponseSchema):
    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    description = fields.String()
    price_cents = fields.Integer()
    currency = fields.String()
    stock = fields.Integer()
    created_at = UtcTimestamp()


class PageQuerySchema(ma.Schema):
    """``?limit&offset`` of a list endpoint."""

    limit = UrlInteger(
        load_default=limits.PAGE_LIMIT_DEFAULT, validate=validate.Range(1, limits.PAGE_LIMIT_MAX)
    )
    offset = UrlInteger(load_default=0, validate=validate.Range(0, limits.MAX_DB_ID))


class ProductQuerySchema(PageQuerySchema):
    q = Text(validate=validate.Length(max=200), metadata={"description": "case-insensitive name search"})


# --- orders -----------------------------------------------------------------------------------------------


class OrderLineSchema(ma.Schema):
    product_id = _strict_int(minimum=1, maximum=limits.MAX_DB_ID, required=True)
    quantity = _strict_int(minimum=1, maximum=limits.MAX_LINE_QUANTITY, required=True)


class OrderCreateSchema(ma.Schema):
    items = fields.List(
        fields.Nested(OrderLineSchema),
        required=True,
        validate=validate.Length(min=1, max=limits.MAX_ORDER_LINES),
    )

    @ma.validates("items")
    def _each_product_once(self, items: list[dict[str, int]], **kwargs: Any) -> None:
        # marshmallow also calls this when some lines failed (they arrive without their invalid members);
        # their own errors say enough, as in the FastAPI app, where Pydantic checks the list only once every
        # line is valid
        if not all({"product_id", "quantity"} <= line.keys() for line in items):
            return
        try:
            check_each_product_once(line["product_id"] for line in items)
        except ValueError as error:
            raise ma.ValidationError(str(error)) from None


class IdempotencyKeyField(fields.String):
    """The key an ``Idempotency-Key`` header names, unquoted by :mod:`shared.domain.idempotency`; an invalid
    one is a validation error at that header."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw: str = super()._deserialize(value, attr, data, **kwargs)
        try:
            return idempotency.parse_idempotency_key(raw)
        except idempotency.InvalidIdempotencyKey as exc:
            raise ma.ValidationError(str(exc)) from exc


class IdempotencyKeyHeaderSchema(ma.Schema):
    """The ``Idempotency-Key`` request header (optional); a view takes it with
    ``@blp.arguments(IdempotencyKeyHeaderSchema, location="headers")``."""

    class Meta:
        unknown = ma.EXCLUDE  # every other header of the request

    idempotency_key = IdempotencyKeyField(
        data_key=idempotency.HEADER,
        metadata={
            "description": "1..255 printable ASCII characters, bare or as a quoted Structured Field string",
            # documentation only: parse_idempotency_key enforces the key's own, narrower rules
            "minLength": 1,
            "maxLength": idempotency.HEADER_MAX_LENGTH,
            "pattern": idempotency.HEADER_PATTERN,
        },
    )


class OrderItemSchema(ResponseSchema):
    product_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    unit_price_cents = fields.Integer()
    quantity = fields.Integer()
    line_total_cents = fields.Integer()


class OrderSchema(ResponseSchema):
    id = fields.Integer()
    status = fields.Enum(OrderStatus, by_value=fields.String)
    items = fields.List(fields.Nested(OrderItemSchema))
    total_cents = fields.Integer()
    currency = fields.String()
    created_at = UtcTimestamp()
    confirmed_at = UtcTimestamp(allow_none=True)


# --- shared shapes ----------------------------------------------------------------------------------------


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """A page of ``item_schema``: ``{items, total, limit, offset}``."""
    return ResponseSchema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "total": fields.Integer(),
            "limit": fields.Integer(),
            "offset": fields.Integer(),
        },
        name=f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
    )


ProductPageSchema = page_schema(ProductSchema)
OrderPageSchema = page_schema(OrderSchema)


class HealthSchema(ResponseSchema):
    status = fields.String(validate=validate.OneOf(["ok"]))


class ProblemDetailsSchema(ma.Schema):
    """RFC 9457 problem document, served as ``application/problem+json``."""

    class Meta:
        unknown = ma.INCLUDE  # extension members (RFC 9457 §3.2): apispec then allows additional properties

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)


class InvalidMemberSchema(ResponseSchema):
    """Where a validation problem is: exactly one of ``pointer``, ``parameter`` or ``header``."""

    pointer = fields.String(metadata={"description": "RFC 6901 JSON Pointer into the body"})
    parameter = fields.String(metadata={"description": "query parameter name"})
    header = fields.String(metadata={"description": "request header name"})
    detail = fields.String()

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        field_obj.required = field_name == "detail"  # and one of the others


class ValidationProblemSchema(ProblemDetailsSchema):
    errors = fields.List(fields.Nested(InvalidMemberSchema), required=True)
