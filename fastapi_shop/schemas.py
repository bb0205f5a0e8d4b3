"""Pydantic v2 request and response models; they validate input and drive the OpenAPI document.

Request models are strict (JSON types are never coerced: ``"1"`` is not an integer, ``true`` is not a number)
and forbid unknown members. Limits come from :mod:`shared.domain`, so the Flask app enforces the same ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from shared.domain import emails, limits
from shared.domain.order_status import OrderStatus
from shared.domain.pricing import check_each_product_once
from shared.http import api as http_api
from shared.http import inputs

# rendered by shared.http.api.format_timestamp; documented as what it is, an RFC 3339 date-time
UtcTimestamp = Annotated[
    datetime,
    PlainSerializer(http_api.format_timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
# text the database stores or searches: no NUL (shared.http.inputs)
Text = Annotated[str, AfterValidator(inputs.check_text)]
# an address email-validator accepts (shared.domain.emails), in its normalized form; not Pydantic's EmailStr,
# which also takes "Name <address>" and applies its own rules
Email = Annotated[
    Text,
    AfterValidator(emails.normalize),
    Field(max_length=emails.MAX_LENGTH, json_schema_extra={"format": "email"}),
]
Password = Annotated[
    Text,
    Field(
        min_length=limits.PASSWORD_MIN_LENGTH,
        max_length=limits.PASSWORD_MAX_LENGTH,
        json_schema_extra={"writeOnly": True},  # sent, never returned
    ),
]
Name = Annotated[Text, Field(min_length=1, max_length=limits.NAME_MAX_LENGTH)]
Description = Annotated[Text, Field(max_length=limits.DESCRIPTION_MAX_LENGTH)]
PriceCents = Annotated[int, Field(ge=0, le=limits.MAX_PRICE_CENTS, description="US cents")]
Stock = Annotated[int, Field(ge=0, le=limits.MAX_STOCK)]
Id = Annotated[int, Field(ge=1, le=limits.MAX_DB_ID)]


def _ascii_digits(value: object) -> object:
    return inputs.check_decimal_digits(value) if isinstance(value, str) else value


# an integer in a query string: ASCII digits only (Pydantic's lax int() also takes "+1", "1.0", "1_0")
UrlInteger = BeforeValidator(_ascii_digits)


def document_without_null(schema: dict[str, Any]) -> None:
    """A member that may be left out but not null: its JSON schema without ``null``."""
    (value,) = [member for member in schema.pop("anyOf") if member != {"type": "null"}]
    schema.pop("default", None)  # None: left out
    schema.update(value)


class RequestModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- accounts ---------------------------------------------------------------------------------------------


class UserCreate(RequestModel):
    email: Email
    password: Password
    full_name: Name


class User(ResponseModel):
    id: int
    email: str
    full_name: str
    is_admin: bool
    created_at: UtcTimestamp


class TokenRequest(BaseModel):
    """OAuth2 password grant form (RFC 6749 §4.3.2); ``username`` is the email. Other fields a client sends
    (``scope``, ``client_id``) are ignored. A route takes it as ``Annotated[TokenRequest, Form()]``."""

    # may be left out, and a form has no null: Optional, documented without null (with SkipJsonSchema[None]
    # instead, Pydantic would validate a union and report an error for each of its members)
    grant_type: Annotated[Literal["password"] | None, Field(json_schema_extra=document_without_null)] = None
    # an empty field is a missing one (FastAPI reads "username=" so; Flask's schema does the same)
    username: Annotated[Text, Field(min_length=1)]
    password: Annotated[Text, Field(min_length=1, json_schema_extra={"writeOnly": True})]


class Token(BaseModel):
    """OAuth2 access token response (RFC 6749 §5.1); ``expires_in`` is in seconds."""

    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


# --- catalog ----------------------------------------------------------------------------------------------


class ProductCreate(RequestModel):
    sku: Annotated[str, Field(pattern=limits.SKU_PATTERN)]
    name: Name
    description: Description = ""
    price_cents: PriceCents
    stock: Stock


class ProductUpdate(RequestModel):
    """Partial update: members left out stay as they are; ``null`` is not a value."""

    # None marks a member left out (the route takes model_dump(exclude_unset=True)); null is refused below
    name: Annotated[Name | None, Field(json_schema_extra=document_without_null)] = None
    description: Annotated[Description | None, Field(json_schema_extra=document_without_null)] = None
    price_cents: Annotated[PriceCents | None, Field(json_schema_extra=document_without_null)] = None
    stock: Annotated[Stock | None, Field(json_schema_extra=document_without_null)] = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # runs only for members present in the body; defaults are not validated
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class Product(ResponseModel):
    id: int
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str
    stock: int
    created_at: UtcTimestamp


# --- orders -----------------------------------------------------------------------------------------------


class OrderLine(RequestModel):
    product_id: Id
    quantity: Annotated[int, Field(ge=1, le=limits.MAX_LINE_QUANTITY)]


class OrderCreate(RequestModel):
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=limits.MAX_ORDER_LINES)]

    @field_validator("items")
    @classmethod
    def _each_product_once(cls, items: list[OrderLine]) -> list[OrderLine]:
        check_each_product_once(line.product_id for line in items)
        return items


class OrderItem(ResponseModel):
    product_id: int
    sku: str
    name: str
    unit_price_cents: int
    quantity: int
    line_total_cents: int


class Order(ResponseModel):
    id: int
    status: OrderStatus
    items: list[OrderItem]
    total_cents: int
    currency: str
    created_at: UtcTimestamp
    confirmed_at: UtcTimestamp | None


# --- query parameters -------------------------------------------------------------------------------------


class PageQuery(BaseModel):
    """``?limit&offset`` of a list endpoint; a route takes it as ``Annotated[PageQuery, Query()]``."""

    # the bounds before the validator: after it, Pydantic could not render them as minimum and maximum and
    # would write its own ge and le into the JSON schema, which no JSON Schema validator reads
    limit: Annotated[int, Field(ge=1, le=limits.PAGE_LIMIT_MAX), UrlInteger] = limits.PAGE_LIMIT_DEFAULT
    offset: Annotated[int, Field(ge=0, le=limits.MAX_DB_ID), UrlInteger] = 0


class ProductQuery(PageQuery):
    # may be left out, and a query string has no null (as grant_type above)
    q: Annotated[
        Text | None,
        Field(
            max_length=200,
            description="case-insensitive name search",
            json_schema_extra=document_without_null,
        ),
    ] = None


# --- shared shapes ----------------------------------------------------------------------------------------

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list ordered stably; ``total`` counts all matches."""

    items: list[T]
    total: int
    limit: int
    offset: int


# each page a class of its own, named as the OpenAPI component (Page[Order] would be Page_Order_)
class ProductPage(Page[Product]):
    pass


class OrderPage(Page[Order]):
    pass


class Health(BaseModel):
    status: Literal["ok"]


class ProblemDetails(BaseModel):
    """RFC 9457 problem document, served as ``application/problem+json``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://shop.example/problems/insufficient-stock"])
    title: str
    status: int
    detail: str


class InvalidMember(BaseModel):
    """Where a validation problem is: exactly one of ``pointer``, ``parameter`` or ``header``."""

    # members that may be left out, but are never null
    pointer: str | None = Field(
        None, description="RFC 6901 JSON Pointer into the body", json_schema_extra=document_without_null
    )
    parameter: str | None = Field(
        None, description="query parameter name", json_schema_extra=document_without_null
    )
    header: str | None = Field(
        None, description="request header name", json_schema_extra=document_without_null
    )
    detail: str


class ValidationProblem(ProblemDetails):
    errors: list[InvalidMember]
