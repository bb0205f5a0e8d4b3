"""The back office's HTML forms, one definition for both admins: WTForms, which Flask-Admin and SQLAdmin both
build their forms with.

Each form checks what the API's schemas check (:mod:`shared.domain.limits`, email addresses as
:func:`shared.domain.emails.normalize` accepts them), so a value refused by the API is refused here too,
with a message beside its field and nothing changed. Stock is never a field of a product form: it changes
through a :class:`StockAdjustmentForm` only, a signed delta with a reason (each app's
``services.adjust_stock``).
"""

from __future__ import annotations

from typing import Any

from wtforms import Form, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp, ValidationError

from shared.domain import emails, limits
from shared.http.inputs import NUL_DETAIL


def _no_nul(form: Form, field: Any) -> None:
    if isinstance(field.data, str) and "\x00" in field.data:
        raise ValidationError(NUL_DETAIL)


def _email(form: Form, field: Any) -> None:
    try:
        field.data = emails.normalize(field.data or "")
    except emails.EmailNotValidError as error:
        raise ValidationError(str(error)) from None


def _not_zero(form: Form, field: Any) -> None:
    if field.data == 0:
        raise ValidationError("must not be 0")


def _name() -> StringField:
    return StringField("Name", [DataRequired(), Length(max=limits.NAME_MAX_LENGTH), _no_nul])


def _description() -> TextAreaField:
    return TextAreaField("Description", [Length(max=limits.DESCRIPTION_MAX_LENGTH), _no_nul], default="")


def _price_cents() -> IntegerField:
    return IntegerField("Price (cents)", [InputRequired(), NumberRange(min=0, max=limits.MAX_PRICE_CENTS)])


class ProductCreateForm(Form):
    """A new product: SKU, name, description and price in cents; it starts with no stock."""

    sku = StringField(
        "SKU",
        [DataRequired(), Regexp(limits.SKU_PATTERN, message="3-64 capital letters, digits and hyphens")],
    )
    name = _name()
    description = _description()
    price_cents = _price_cents()


class ProductEditForm(Form):
    """A product's name, description and price in cents (its SKU names it for good; stock: adjust it)."""

    name = _name()
    description = _description()
    price_cents = _price_cents()


class StockAdjustmentForm(Form):
    """Units to add (negative: take away) and why, e.g. ``+24`` "delivery", ``-2`` "broken in the store"."""

    delta = IntegerField(
        "Units to add (negative to take away)",
        [InputRequired(), NumberRange(min=-limits.MAX_STOCK, max=limits.MAX_STOCK), _not_zero],
    )
    reason = StringField("Reason", [DataRequired(), Length(max=limits.STOCK_REASON_MAX_LENGTH), _no_nul])


class UserCreateForm(Form):
    """A new customer account, created by an admin (the password is hashed as registration hashes it)."""

    email = StringField("Email", [DataRequired(), Length(max=emails.MAX_LENGTH), _email])
    full_name = StringField("Full name", [DataRequired(), Length(max=limits.NAME_MAX_LENGTH), _no_nul])
    password = PasswordField(
        "Password", [Length(min=limits.PASSWORD_MIN_LENGTH, max=limits.PASSWORD_MAX_LENGTH), _no_nul]
    )
