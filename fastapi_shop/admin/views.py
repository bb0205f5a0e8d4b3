"""The back office's pages: SQLAdmin ``ModelView`` classes, declared, and the dashboard.

SQLAdmin lists, searches, sorts and pages on its own; every write goes through :mod:`fastapi_shop.services`
(never the ORM from a view), so the admin keeps the API's rules and records each change in the audit trail
in its own transaction. Forms come from :mod:`shared.http.forms`; what a service refuses (a taken SKU, a
stock that would go below zero, an order already cancelled) is a message on the page, never a 500. No view
deletes, and none shows a password hash, a token or an idempotency key.

SQLAdmin's own actions are GET links, and its delete sends no CSRF token: this admin uses neither. Its
changes beyond create and edit are POST forms on the detail pages, each a route of its view (``expose``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqladmin import ModelView, expose
from sqladmin.filters import AllUniqueStringValuesFilter, StaticValuesFilter
from sqladmin.flash import flash
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.middleware.sessions import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from wtforms import Form

from fastapi_shop import services
from fastapi_shop.admin.sessions import current_admin_session
from fastapi_shop.passwords import PasswordHashing
from shared.db import models
from shared.domain.exceptions import DomainError, NotFound
from shared.domain.order_status import OrderStatus
from shared.http import forms
from shared.http.inputs import is_db_id

ADMIN_RIGHT = {"true": True, "false": False}  # the form's is_admin, a hidden field of the detail page


def _flash(request: Request, message: str, category: str) -> None:
    """SQLAdmin's flash message, which appends to a list the session may already hold: Starlette sends the
    cookie again only for a session it saw change, so the change is marked."""
    flash(request, message, category)
    cast(Session, request.session).mark_modified()


def _flash_errors(request: Request, form: Form) -> None:
    for name, errors in form.errors.items():
        for error in errors:
            _flash(request, f"{form[name].label.text}: {error}", "danger")


class ShopModelView(ModelView):
    """What every list of the back office shares: no delete, no export, a detail page, 20 rows a page."""

    can_delete = False
    can_export = False
    can_view_details = True
    page_size = 20
    page_size_options: ClassVar[list[int]] = [20, 50, 100]
    # SQLAdmin's pages with the back office's CSS, and the CSRF token in its forms
    list_template = "back_office/list.html"
    details_template = "back_office/details.html"
    create_template = "back_office/create.html"
    edit_template = "back_office/edit.html"

    def service_session(self) -> AsyncSession:
        """A session for a service call: SQLAdmin turns autoflush off on its own sessions (for its reads);
        the services are written for SQLAlchemy's default."""
        session: AsyncSession = self.session_maker(autoflush=True)
        return session

    async def get_object_for_details(self, request: Request) -> Any:
        """The row, or ``None`` (SQLAdmin then answers 404) also for an id no row can have, which PostgreSQL
        would refuse with an error."""
        if not is_db_id(request.path_params["pk"]):
            return None
        return await super().get_object_for_details(request)

    async def get_object_for_edit(self, request: Request) -> Any:
        """As :meth:`get_object_for_details`, for the edit page."""
        if not is_db_id(request.path_params["pk"]):
            return None
        return await super().get_object_for_edit(request)

    def back_to_details(self, request: Request, pk: int) -> RedirectResponse:
        url = request.url_for("admin:details", identity=self.identity, pk=str(pk))
        return RedirectResponse(url, status_code=302)

    def refused(self, request: Request, pk: int, error: DomainError) -> RedirectResponse:
        """Back to the row's page with what the service refused; to the list if the row does not exist."""
        _flash(request, str(error), "danger")
        if isinstance(error, NotFound):
            return RedirectResponse(request.url_for("admin:list", identity=self.identity), status_code=302)
        return self.back_to_details(request, pk)


class ReadOnly(ShopModelView):
    """A list and a detail page, nothing to change."""

    can_create = False
    can_edit = False


class ProductAdmin(ShopModelView, model=models.Product):
    """Products: search by name or SKU, sort, page; create; edit name, description, price; adjust stock."""

    name_plural = "Products"
    icon = "fa-solid fa-box"
    column_list: ClassVar[Any] = [
        models.Product.sku,
        models.Product.name,
        models.Product.price_cents,
        models.Product.stock,
        models.Product.updated_at,
    ]
    column_details_list: ClassVar[Any] = [
        models.Product.id,
        models.Product.sku,
        models.Product.name,
        models.Product.description,
        models.Product.price_cents,
        models.Product.stock,
        models.Product.created_at,
        models.Product.updated_at,
    ]
    column_searchable_list: ClassVar[Any] = [models.Product.name, models.Product.sku]
    column_sortable_list: ClassVar[Any] = [
        models.Product.sku,
        models.Product.name,
        models.Product.price_cents,
        models.Product.stock,
        models.Product.updated_at,
    ]
    column_default_sort: ClassVar[Any] = "id"
    form_create_rules: ClassVar[Any] = ["sku", "name", "description", "price_cents"]
    form_edit_rules: ClassVar[Any] = ["name", "description", "price_cents"]
    details_template = "back_office/product_details.html"

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        return forms.ProductCreateForm if rules == self.form_create_rules else forms.ProductEditForm

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        async with self.service_session() as session:
            # a product starts with no stock: units arrive through an adjustment, with its reason
            return await services.create_product(
                session=session, actor=current_admin_session(request).user, stock=0, **data
            )

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        async with self.service_session() as session:
            return await services.update_product(
                session=session, actor=current_admin_session(request).user, product_id=int(pk), changes=data
            )

    async def details_context(self, request: Request) -> dict[str, Any]:
        return {"stock_form": forms.StockAdjustmentForm()}

    @expose("/{pk:id}/stock", methods=["POST"])
    async def adjust_stock(self, request: Request) -> Response:
        """Add or take away units, with a reason: the product is locked as an order locks it."""
        product_id = request.path_params["pk"]
        form = forms.StockAdjustmentForm(await request.form())
        if form.validate():
            try:
                async with self.service_session() as session:
                    product = await services.adjust_stock(
                        session=session,
                        actor=current_admin_session(request).user,
                        product_id=product_id,
                        delta=form.delta.data,
                        reason=form.reason.data,
                    )
            except DomainError as error:
                return self.refused(request, product_id, error)
            _flash(request, f"{product.sku}: {product.stock} in stock.", "success")
        else:
            _flash_errors(request, form)
        return self.back_to_details(request, product_id)


def _customer(order: models.Order, name: str) -> str:
    return order.customer.email


class OrderAdmin(ReadOnly, model=models.Order):
    """Orders, newest first, filtered by status; the detail page shows the line items and can cancel."""

    name_plural = "Orders"
    icon = "fa-solid fa-receipt"
    column_list: ClassVar[Any] = [
        models.Order.id,
        models.Order.customer,
        models.Order.status,
        models.Order.total_cents,
        models.Order.created_at,
    ]
    column_details_list: ClassVar[Any] = [
        models.Order.id,
        models.Order.customer,
        models.Order.status,
        models.Order.total_cents,
        models.Order.currency,
        models.Order.created_at,
        models.Order.confirmed_at,
        models.Order.cancelled_at,
    ]
    column_labels: ClassVar[Any] = {models.Order.customer: "Customer"}
    column_formatters: ClassVar[Any] = {models.Order.customer: _customer}
    column_formatters_detail: ClassVar[Any] = {models.Order.customer: _customer}
    column_sortable_list: ClassVar[Any] = [models.Order.id, models.Order.status, models.Order.created_at]
    column_default_sort: ClassVar[Any] = ("id", True)
    details_template = "back_office/order_details.html"

    column_filters: ClassVar[Any] = [
        StaticValuesFilter(
            models.Order.status, values=[(status.value, status.value) for status in OrderStatus]
        )
    ]

    @expose("/{pk:id}/cancel", methods=["POST"])
    async def cancel(self, request: Request) -> Response:
        """Cancel the order through the API's own steps: its units go back in stock."""
        order_id = request.path_params["pk"]
        try:
            async with self.service_session() as session:
                await services.cancel_any_order(
                    session=session, actor=current_admin_session(request).user, order_id=order_id
                )
        except DomainError as error:
            return self.refused(request, order_id, error)
        _flash(request, f"Order {order_id} is cancelled; its units are back in stock.", "success")
        return self.back_to_details(request, order_id)


class UserAdmin(ReadOnly, model=models.User):
    """Accounts (never their password hash): search, create, grant or revoke the admin right."""

    name_plural = "Users"
    icon = "fa-solid fa-user"
    can_create = True
    column_list: ClassVar[Any] = [
        models.User.id,
        models.User.email,
        models.User.full_name,
        models.User.is_admin,
        models.User.created_at,
    ]
    column_details_list: ClassVar[Any] = column_list
    column_searchable_list: ClassVar[Any] = [models.User.email, models.User.full_name]
    column_sortable_list: ClassVar[Any] = column_list
    column_default_sort: ClassVar[Any] = "id"
    form_create_rules: ClassVar[Any] = ["email", "full_name", "password"]
    details_template = "back_office/user_details.html"
    passwords: ClassVar[PasswordHashing]  # the app's hasher, set by fastapi_shop.admin.init_app

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        return forms.UserCreateForm

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        async with self.service_session() as session:
            return await services.register_user(
                session=session, passwords=self.passwords, actor=current_admin_session(request).user, **data
            )

    @expose("/{pk:id}/admin", methods=["POST"])
    async def set_admin(self, request: Request) -> Response:
        """Grant (``is_admin=true``) or revoke (``false``) the admin right."""
        user_id = request.path_params["pk"]
        is_admin = ADMIN_RIGHT.get(str((await request.form()).get("is_admin")))
        if is_admin is None:
            _flash(request, "Say true or false: grant or revoke the admin right.", "danger")
            return self.back_to_details(request, user_id)
        try:
            async with self.service_session() as session:
                user = await services.set_admin(
                    session=session,
                    actor=current_admin_session(request).user,
                    user_id=user_id,
                    is_admin=is_admin,
                )
        except DomainError as error:
            return self.refused(request, user_id, error)
        _flash(request, f"{user.email} is {'now' if user.is_admin else 'no longer'} an admin.", "success")
        return self.back_to_details(request, user_id)


def _age(message: models.OutboxMessage, name: str) -> str:
    seconds = int((datetime.now(UTC) - message.created_at).total_seconds())
    return (
        f"{seconds // 3600} h {seconds % 3600 // 60} min"
        if seconds >= 3600
        else f"{seconds // 60} min {seconds % 60} s"
    )


class OutboxAdmin(ReadOnly, model=models.OutboxMessage):
    """Confirmations not yet sent: pending (no attempt yet) and failed (attempted), oldest first."""

    name = "Outbox message"
    name_plural = "Outbox"
    icon = "fa-solid fa-envelope"
    column_list: ClassVar[Any] = [
        models.OutboxMessage.id,
        models.OutboxMessage.order_id,
        models.OutboxMessage.topic,
        models.OutboxMessage.attempts,
        models.OutboxMessage.created_at,
    ]
    column_details_list: ClassVar[Any] = [*column_list, models.OutboxMessage.payload]
    column_formatters: ClassVar[Any] = {models.OutboxMessage.created_at: _age}
    column_labels: ClassVar[Any] = {models.OutboxMessage.created_at: "Age"}
    column_default_sort: ClassVar[Any] = "created_at"

    def list_query(self, request: Request) -> Select[Any]:
        return select(models.OutboxMessage).where(models.OutboxMessage.sent_at.is_(None))

    def count_query(self, request: Request) -> Select[Any]:
        return super().count_query(request).where(models.OutboxMessage.sent_at.is_(None))


class AuditAdmin(ReadOnly, model=models.AuditEntry):
    """The audit trail, newest first: who did what to which row, before and after."""

    name = "Audit entry"
    name_plural = "Audit trail"
    icon = "fa-solid fa-list-check"
    column_list: ClassVar[Any] = [
        models.AuditEntry.created_at,
        models.AuditEntry.actor,
        models.AuditEntry.action,
        models.AuditEntry.entity,
        models.AuditEntry.entity_id,
        models.AuditEntry.before,
        models.AuditEntry.after,
    ]
    column_details_list: ClassVar[Any] = [models.AuditEntry.id, *column_list]
    column_labels: ClassVar[Any] = {models.AuditEntry.actor: "Admin"}
    column_formatters: ClassVar[Any] = {models.AuditEntry.actor: lambda entry, name: entry.actor.email}
    column_formatters_detail: ClassVar[Any] = column_formatters
    column_filters: ClassVar[Any] = [
        AllUniqueStringValuesFilter(models.AuditEntry.action),
        AllUniqueStringValuesFilter(models.AuditEntry.entity),
    ]
    column_default_sort: ClassVar[Any] = ("id", True)
