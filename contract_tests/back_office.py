"""A browser-less admin of the back office (``/admin``): an HTTP client that keeps its cookies, reads each
form's CSRF token from the page that carries the form, and posts forms as a browser does.

The two admins are built from different libraries (Flask-Admin, SQLAdmin), so the addresses of their own
pages differ (:data:`PAGES`), under the same names (SQLAdmin's, after the model: ``/admin/product/...``); the
changes beyond create and edit are the shop's own routes, the same in both apps.
Pages are HTML, outside the OpenAPI documents: this client is a plain ``httpx.Client``, not the suite's
checked one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from contract_tests.client import Api, expect_status, unique

PREFIX = "/admin"
VIEWS = {
    "products": "product",
    "orders": "order",
    "users": "user",
    "outbox": "outbox-message",
    "audit": "audit-entry",
}


@dataclass(frozen=True)
class Pages:
    """One admin's addresses; ``{id}`` is a row's id. ``csrf_field``: the form field of its CSRF token."""

    csrf_field: str
    lists: dict[str, str]
    product_create: str
    product_edit: str
    product: str
    order: str
    user_create: str
    user: str


PAGES = {
    "flask": Pages(  # Flask-Admin: /<view>/, /<view>/new/, /<view>/edit/?id=, /<view>/details/?id=
        csrf_field="csrf_token",  # Flask-WTF's
        lists={name: f"{PREFIX}/{view}/" for name, view in VIEWS.items()},
        product_create=f"{PREFIX}/product/new/",
        product_edit=f"{PREFIX}/product/edit/?id={{id}}",
        product=f"{PREFIX}/product/details/?id={{id}}",
        order=f"{PREFIX}/order/details/?id={{id}}",
        user_create=f"{PREFIX}/user/new/",
        user=f"{PREFIX}/user/details/?id={{id}}",
    ),
    "fastapi": Pages(  # SQLAdmin: /<identity>/list, /create, /edit/<id>, /details/<id>
        csrf_field="csrf_token",  # fastapi_shop.admin.guard, named as Flask-WTF names it
        lists={name: f"{PREFIX}/{view}/list" for name, view in VIEWS.items()},
        product_create=f"{PREFIX}/product/create",
        product_edit=f"{PREFIX}/product/edit/{{id}}",
        product=f"{PREFIX}/product/details/{{id}}",
        order=f"{PREFIX}/order/details/{{id}}",
        user_create=f"{PREFIX}/user/create",
        user=f"{PREFIX}/user/details/{{id}}",
    ),
}
SIGN_IN = f"{PREFIX}/login"
SIGN_OUT = f"{PREFIX}/logout"
HOME = f"{PREFIX}/"


def stock_path(product_id: int) -> str:
    return f"{PREFIX}/product/{product_id}/stock"


def cancel_path(order_id: int) -> str:
    return f"{PREFIX}/order/{order_id}/cancel"


def admin_right_path(user_id: int) -> str:
    return f"{PREFIX}/user/{user_id}/admin"


def is_sign_in_redirect(response: httpx.Response) -> bool:
    """Whether ``response`` sends the browser to the sign-in page (an unauthenticated request)."""
    location = response.headers.get("Location", "")
    return response.status_code in (302, 303) and httpx.URL(location).path == SIGN_IN


class BackOffice:
    """One browser's worth of the back office on ``api``'s app: its own cookies, no signed-in admin yet."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.pages = PAGES[api.name]
        self.http = httpx.Client(base_url=api.base_url, follow_redirects=False, timeout=30)

    def __enter__(self) -> BackOffice:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.http.close()

    def get(self, path: str, *, expect: int | None) -> httpx.Response:
        return expect_status(self.http.get(path), expect)

    def token(self, page: str) -> str:
        """The CSRF token of the first form on ``page`` (which must answer 200)."""
        html = self.get(page, expect=200).text
        found = re.search(rf'name="{self.pages.csrf_field}"[^>]*value="([^"]+)"', html)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def post(
        self, path: str, form: dict[str, Any], *, token_from: str | None, expect: int | None
    ) -> httpx.Response:
        """POST ``form`` to ``path`` with the CSRF token read from ``token_from`` (``None``: no token)."""
        data = {name: str(value) for name, value in form.items()}
        if token_from is not None:
            data[self.pages.csrf_field] = self.token(token_from)
        return expect_status(self.http.post(path, data=data), expect)

    def follow(self, response: httpx.Response) -> str:
        """The page a redirect leads to (its flash messages shown once), as HTML."""
        assert response.status_code in (302, 303), response.text
        return self.get(response.headers["Location"], expect=200).text

    # --- signing in and out ---

    def sign_in(self, email: str, password: str, *, expect: int | None = 302) -> httpx.Response:
        return self.post(SIGN_IN, {"email": email, "password": password}, token_from=SIGN_IN, expect=expect)

    def sign_in_as_admin(self) -> BackOffice:
        response = self.sign_in(self.api.deployment.admin_email, self.api.deployment.admin_password)
        assert httpx.URL(response.headers["Location"]).path == HOME
        return self

    def sign_out(self) -> httpx.Response:
        return self.post(SIGN_OUT, {}, token_from=SIGN_OUT, expect=302)

    # --- the shop's changes ---

    def create_product(self, *, price_cents: int = 1999, expect: int | None = 302) -> dict[str, Any]:
        """Create a product through the admin's form; the form's values, with the ``id`` the public API
        reports for the SKU when it was created."""
        sku = unique("ADMIN-").upper()
        form = {
            "sku": sku,
            "name": f"Back-office widget {sku}",
            "description": "Made by hand.",
            "price_cents": price_cents,
        }
        page = self.pages.product_create
        self.post(page, {**form, "save": "Save"}, token_from=page, expect=expect)
        listed = self.api.http.get("/api/v1/products", params={"q": f"Back-office widget {sku}"})
        assert listed.status_code == 200, listed.text
        found = [item for item in listed.json()["items"] if item["sku"] == sku]
        return {**form, "id": found[0]["id"]} if found else form

    def edit_product(
        self, product_id: int, changes: dict[str, Any], *, expect: int | None = 302
    ) -> httpx.Response:
        page = self.pages.product_edit.format(id=product_id)
        return self.post(page, {**changes, "save": "Save"}, token_from=page, expect=expect)

    def adjust_stock(self, product_id: int, delta: int, reason: str = "delivery") -> httpx.Response:
        page = self.pages.product.format(id=product_id)
        return self.post(
            stock_path(product_id), {"delta": delta, "reason": reason}, token_from=page, expect=302
        )

    def cancel_order(self, order_id: int) -> httpx.Response:
        page = self.pages.order.format(id=order_id)
        return self.post(cancel_path(order_id), {}, token_from=page, expect=302)

    def create_user(self, email: str, password: str, full_name: str = "Grace Hopper") -> httpx.Response:
        page = self.pages.user_create
        form = {"email": email, "full_name": full_name, "password": password, "save": "Save"}
        return self.post(page, form, token_from=page, expect=302)

    def set_admin(self, user_id: int, is_admin: bool) -> httpx.Response:
        page = self.pages.user.format(id=user_id)
        value = "true" if is_admin else "false"
        return self.post(admin_right_path(user_id), {"is_admin": value}, token_from=page, expect=302)
