"""The back office's pages: Flask-Admin ``ModelView`` classes, declared, and the dashboard.

Flask-Admin lists, searches, sorts, filters and pages on its own; every write goes through
:mod:`flask_shop.services` (never the ORM from a view), so the admin keeps the API's rules and records each
change in the audit trail in its own transaction. Forms come from :mod:`shared.http.forms`; what a service
refuses (a taken SKU, a stock that would go below zero, an order already cancelled) is a flash message on
the page, never a 500. No view deletes, and none shows a password hash, a token or an idempotency key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterEqual
from sqlalchemy.orm import Query, joinedload
from wtforms import Form

from flask_shop import services
from flask_shop.admin.sessions import AdminLogin, current_admin
from flask_shop.db import get_session
from flask_shop.passwords import get_password_hashing
from shared.db import models
from shared.domain.exceptions import DomainError, NotFound
from shared.domain.limits import MAX_DB_ID
from shared.domain.order_status import OrderStatus
from shared.http import forms
from shared.http.inputs import is_db_id

CSS = ["/admin/assets/back_office.css"]  # the back_office blueprint's static folder (sessions.py)
ADMIN_RIGHT = {"true": True, "false": False}  # the form's is_admin, a hidden field of the detail page


class SignedIn:
    """Flask-Admin's one place for access: only a signed-in admin; anyone else goes to the sign-in page."""

    extra_css = CSS

    def is_accessible(self) -> bool:
        return current_admin() is not None

    def inaccessible_callback(self, name: str, **kwargs: Any) -> ResponseReturnValue:
        here = request.full_path if request.query_string else request.path
        return redirect(url_for("back_office.sign_in", next=here))


def _admin() -> AdminLogin:
    """The signed-in admin, in a view that :meth:`SignedIn.is_accessible` let the request into."""
    login = current_admin()
    if login is None:
        raise RuntimeError("a back-office view ran without a signed-in admin")
    return login


def _flash_errors(form: Form) -> None:
    for name, errors in form.errors.items():
        for error in errors:
            flash(f"{form[name].label.text}: {error}", "error")


class DashboardView(SignedIn, AdminIndexView):
    """The home page: today's orders and revenue, unsent confirmations, the products lowest in stock."""

    @expose("/")
    def index(self) -> str:
        dashboard = services.read_dashboard(session=get_session())
        page: str = self.render("back_office/dashboard.html", dashboard=dashboard)
        return page


class ShopModelView(SignedIn, ModelView):
    """What every list of the back office shares: no delete, no export, a detail page, 20 rows a page."""

    can_delete = False
    can_view_details = True
    can_export = False
    page_size = 20

    def get_one(self, id: str) -> Any:
        """The row with primary key ``id``, or ``None`` (Flask-Admin then says it does not exist) also for an
        id no row can have, which PostgreSQL would refuse with an error."""
        if not is_db_id(id):
            return None
        # through get_query, so that a detail page loads what its list loads (an order's customer)
        return self.get_query().filter(self.model.id == int(id)).one_or_none()

    def get_list(self, page: int | None, *args: Any, **kwargs: Any) -> Any:
        """Flask-Admin's page of rows; a page number PostgreSQL could not turn into an ``OFFSET`` (negative,
        or past any row) is the first or an empty page rather than an error."""
        if page is not None:
            page = max(0, min(page, MAX_DB_ID))
        return super().get_list(page, *args, **kwargs)

    def back_to_details(self, row_id: int) -> ResponseReturnValue:
        return redirect(self.get_url(".details_view", id=row_id))

    def refused(self, row_id: int, error: DomainError) -> ResponseReturnValue:
        """Back to the row's page with what the service refused; to the list if the row does not exist."""
        flash(str(error), "error")
        if isinstance(error, NotFound):
            return redirect(self.get_url(".index_view"))
        return self.back_to_details(row_id)


class ReadOnly(ShopModelView):
    """A list and a detail page, nothing to change."""

    can_create = False
    can_edit = False


class ProductView(ShopModelView):
    """Products: search by name or SKU, sort, page; create; edit name, description, price; adjust stock."""

    column_list = ("sku", "name", "price_cents", "stock", "updated_at")
    column_details_list = (
        "id",
        "sku",
        "name",
        "description",
        "price_cents",
        "stock",
        "created_at",
        "updated_at",
    )
    column_searchable_list = ("name", "sku")
    column_sortable_list = ("sku", "name", "price_cents", "stock", "updated_at")
    column_default_sort = "id"
    details_template = "back_office/product_details.html"

    def get_create_form(self) -> type[Form]:
        return forms.ProductCreateForm

    def get_edit_form(self) -> type[Form]:
        return forms.ProductEditForm

    def create_model(self, form: forms.ProductCreateForm) -> models.Product | bool:
        try:
            # a product starts with no stock: units arrive through an adjustment, with its reason
            return services.create_product(session=get_session(), actor=_admin().user, stock=0, **form.data)
        except DomainError as error:
            flash(str(error), "error")
            return False

    def update_model(self, form: forms.ProductEditForm, model: models.Product) -> bool:
        try:
            services.update_product(
                session=get_session(), actor=_admin().user, product_id=model.id, changes=form.data
            )
        except DomainError as error:
            flash(str(error), "error")
            return False
        return True

    def render(self, template: str, **kwargs: Any) -> str:
        kwargs.setdefault("stock_form", forms.StockAdjustmentForm())  # for the detail page
        page: str = super().render(template, **kwargs)
        return page

    @expose("/<id:product_id>/stock", methods=("POST",))
    def adjust_stock(self, product_id: int) -> ResponseReturnValue:
        """Add or take away units, with a reason: the product is locked as an order locks it."""
        form = forms.StockAdjustmentForm(request.form)
        if form.validate():
            try:
                product = services.adjust_stock(
                    session=get_session(),
                    actor=_admin().user,
                    product_id=product_id,
                    delta=form.delta.data,
                    reason=form.reason.data,
                )
            except DomainError as error:
                return self.refused(product_id, error)
            flash(f"{product.sku}: {product.stock} in stock.", "success")
        else:
            _flash_errors(form)
        return self.back_to_details(product_id)


class OrderView(ReadOnly):
    """Orders, newest first, filtered by status; the detail page shows the line items and can cancel."""

    column_list = ("id", "customer.email", "status", "total_cents", "created_at")
    column_details_list = (
        "id",
        "customer.email",
        "status",
        "total_cents",
        "currency",
        "created_at",
        "confirmed_at",
        "cancelled_at",
    )
    column_labels: ClassVar[dict[str, str]] = {"customer.email": "Customer"}
    column_filters = (
        FilterEqual(
            models.Order.status, "Status", options=[(status.value, status.value) for status in OrderStatus]
        ),
    )
    column_sortable_list = ("id", "status", "created_at")
    column_default_sort = ("id", True)
    details_template = "back_office/order_details.html"

    def get_query(self) -> Query[models.Order]:
        query: Query[models.Order] = super().get_query()
        return query.options(joinedload(models.Order.customer))

    @expose("/<id:order_id>/cancel", methods=("POST",))
    def cancel(self, order_id: int) -> ResponseReturnValue:
        """Cancel the order through the API's own steps: its units go back in stock."""
        try:
            services.cancel_any_order(session=get_session(), actor=_admin().user, order_id=order_id)
        except DomainError as error:
            return self.refused(order_id, error)
        flash(f"Order {order_id} is cancelled; its units are back in stock.", "success")
        return self.back_to_details(order_id)


class UserView(ReadOnly):
    """Accounts (never their password hash): search, create, grant or revoke the admin right."""

    can_create = True
    column_list = ("id", "email", "full_name", "is_admin", "created_at")
    column_details_list = column_list
    column_searchable_list = ("email", "full_name")
    column_sortable_list = ("id", "email", "full_name", "is_admin", "created_at")
    column_default_sort = "id"
    details_template = "back_office/user_details.html"

    def get_create_form(self) -> type[Form]:
        return forms.UserCreateForm

    def create_model(self, form: forms.UserCreateForm) -> models.User | bool:
        try:
            return services.register_user(
                session=get_session(), passwords=get_password_hashing(), actor=_admin().user, **form.data
            )
        except DomainError as error:
            flash(str(error), "error")
            return False

    @expose("/<id:user_id>/admin", methods=("POST",))
    def set_admin(self, user_id: int) -> ResponseReturnValue:
        """Grant (``is_admin=true``) or revoke (``false``) the admin right."""
        is_admin = ADMIN_RIGHT.get(request.form.get("is_admin", ""))
        if is_admin is None:
            flash("Say true or false: grant or revoke the admin right.", "error")
            return self.back_to_details(user_id)
        try:
            user = services.set_admin(
                session=get_session(), actor=_admin().user, user_id=user_id, is_admin=is_admin
            )
        except DomainError as error:
            return self.refused(user_id, error)
        flash(f"{user.email} is {'now' if user.is_admin else 'no longer'} an admin.", "success")
        return self.back_to_details(user_id)


def _age(view: Any, context: Any, message: models.OutboxMessage, name: str) -> str:
    seconds = int((datetime.now(UTC) - message.created_at).total_seconds())
    return (
        f"{seconds // 3600} h {seconds % 3600 // 60} min"
        if seconds >= 3600
        else f"{seconds // 60} min {seconds % 60} s"
    )


class OutboxView(ReadOnly):
    """Confirmations not yet sent: pending (no attempt yet) and failed (attempted), oldest first."""

    column_list = ("id", "order_id", "topic", "attempts", "created_at")
    column_details_list = (*column_list, "payload")
    column_formatters: ClassVar[dict[str, Any]] = {"created_at": _age}
    column_labels: ClassVar[dict[str, str]] = {"created_at": "Age"}
    column_default_sort = "created_at"

    def get_query(self) -> Query[models.OutboxMessage]:
        query: Query[models.OutboxMessage] = super().get_query()
        return query.where(models.OutboxMessage.sent_at.is_(None))

    def get_count_query(self) -> Query[int]:
        query: Query[int] = super().get_count_query()
        return query.where(models.OutboxMessage.sent_at.is_(None))


class AuditView(ReadOnly):
    """The audit trail, newest first: who did what to which row, before and after."""

    column_list = ("created_at", "actor.email", "action", "entity", "entity_id", "before", "after")
    column_details_list = ("id", *column_list)
    column_labels: ClassVar[dict[str, str]] = {"actor.email": "Admin"}
    column_filters = ("action", "entity")
    column_default_sort = ("id", True)
