"""The back office (``/admin``) over HTTP, without a browser, against both apps: who may sign in and for how
long, CSRF, what each change does to the shop (read back through the public API) and to the audit trail,
bad input, what the pages never show, and where they load from.

Each admin is its framework's (Flask-Admin, SQLAdmin), so the pages' addresses differ
(:mod:`contract_tests.back_office`); what they do must not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import psycopg
import pytest

from contract_tests.back_office import (
    HOME,
    SIGN_IN,
    SIGN_OUT,
    BackOffice,
    admin_right_path,
    cancel_path,
    is_sign_in_redirect,
    stock_path,
)
from contract_tests.client import PASSWORD, Api, Customer, unique
from contract_tests.concurrently import run_together

ASSET_REFERENCE = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]+)"')
CSRF_REFUSED = {"flask": 400, "fastapi": 403}  # Flask-WTF's own 400; fastapi_shop/admin/guard.py's 403


@pytest.fixture
def admin(api: Api) -> Iterator[BackOffice]:
    """The deployment's admin, signed in to the app under test."""
    with BackOffice(api) as back_office:
        yield back_office.sign_in_as_admin()


def audit_rows(
    database_url: str, entity: str, entity_id: int
) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """``(admin's email, action, before, after)`` of the row's audit entries, oldest first."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT users.email, action, before, after FROM audit_entries JOIN users ON users.id = actor_id"
            " WHERE entity = %s AND entity_id = %s ORDER BY audit_entries.id",
            (entity, entity_id),
        ).fetchall()
    return [(email, action, before, after) for email, action, before, after in rows]


def product_of(api: Api, product_id: int) -> dict[str, Any]:
    found = api.http.get(f"/api/v1/products/{product_id}")
    assert found.status_code == 200, found.text
    product: dict[str, Any] = found.json()
    return product


def session_cookie(back_office: BackOffice) -> str:
    cookies = [cookie for cookie in back_office.http.cookies.jar if cookie.name == "shop_admin_session"]
    assert len(cookies) == 1
    return str(cookies[0].value)


# --- signing in -------------------------------------------------------------------------------------------


def test_the_seeded_admin_signs_in_and_sees_the_dashboard(api: Api) -> None:
    with BackOffice(api) as back_office:
        signed_in = back_office.sign_in(api.deployment.admin_email, api.deployment.admin_password, expect=302)
        home = back_office.follow(signed_in)
    for figure in ("orders-today", "revenue-today", "unsent-confirmations", "lowest-stock"):
        assert f'id="{figure}"' in home


def test_every_page_sends_a_stranger_to_the_sign_in_page(api: Api) -> None:
    with BackOffice(api) as stranger:
        for page in (HOME, *stranger.pages.lists.values(), stranger.pages.product_create):
            assert is_sign_in_redirect(stranger.get(page, expect=None)), page


def test_a_wrong_password_is_refused_and_signs_no_one_in(api: Api) -> None:
    with BackOffice(api) as back_office:
        refused = back_office.sign_in(api.deployment.admin_email, "not the password", expect=401)
        assert "Wrong email or password." in refused.text
        assert is_sign_in_redirect(back_office.get(HOME, expect=None))


def test_a_customer_cannot_sign_in(api: Api, customer: Customer) -> None:
    with BackOffice(api) as back_office:
        refused = back_office.sign_in(customer.email, customer.password, expect=403)
        assert "cannot use the back office" in refused.text
        assert is_sign_in_redirect(back_office.get(HOME, expect=None))


def test_wrong_passwords_are_throttled_as_the_token_endpoint_throttles_them(
    api: Api, customer: Customer
) -> None:
    with BackOffice(api) as back_office:
        for _ in range(5):  # SHOP_LOGIN_FAILURES_PER_ACCOUNT's default: free failures
            back_office.sign_in(customer.email, "not the password", expect=401)
        throttled = back_office.sign_in(customer.email, customer.password, expect=429)
    assert int(throttled.headers["Retry-After"]) >= 1
    assert "Too many failed logins" in throttled.text


def test_an_api_token_does_not_open_the_back_office(api: Api) -> None:
    with BackOffice(api) as back_office:
        response = back_office.http.get(HOME, headers=api.admin)
    assert is_sign_in_redirect(response)


def test_the_back_office_cookie_does_not_authenticate_the_api(api: Api, admin: BackOffice) -> None:
    cookie = {"shop_admin_session": session_cookie(admin)}
    response = httpx.get(f"{api.base_url}/api/v1/users/me", cookies=cookie)
    assert response.status_code == 401


def test_the_api_neither_sets_nor_varies_on_a_cookie(api: Api, customer: Customer) -> None:
    """The back office's session exists under /admin only: the API's answers stay cacheable by URL."""
    product = api.create_product(stock=1)
    for response in (
        api.http.get(f"/api/v1/products/{product['id']}"),
        api.http.get("/api/v1/users/me", headers=customer.auth),
    ):
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        assert "cookie" not in response.headers.get("Vary", "").lower()


def test_the_session_cookie_is_http_only_same_site_and_scoped_to_the_back_office(api: Api) -> None:
    with BackOffice(api) as back_office:
        signed_in = back_office.sign_in(api.deployment.admin_email, api.deployment.admin_password)
    set_cookie = next(
        v for v in signed_in.headers.get_list("Set-Cookie") if v.startswith("shop_admin_session=")
    )
    attributes = {part.strip().split("=")[0].lower(): part for part in set_cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].split("=")[1].strip().lower() == "lax"
    assert attributes["path"].split("=")[1].strip() == "/admin"
    assert "secure" not in attributes  # plain HTTP here: a Secure cookie would never come back


def admin_sessions(database_url: str, email: str) -> list[str]:
    """The stored references (their SHA-256) of ``email``'s back-office sessions, oldest first."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT token_hash FROM admin_sessions JOIN users ON users.id = user_id WHERE users.email = %s"
            " ORDER BY admin_sessions.id",
            (email,),
        ).fetchall()
    return [token_hash for (token_hash,) in rows]


def test_each_sign_in_starts_a_new_session(api: Api, database_url: str) -> None:
    """No session fixation: signing in with a session cookie already in the browser (here, one of the
    admin's own) makes a new server-side session, with a reference of its own."""
    email = api.deployment.admin_email
    with BackOffice(api) as back_office:
        back_office.sign_in_as_admin()
        before = admin_sessions(database_url, email)
        back_office.sign_in_as_admin()  # the browser still sends the first session's cookie
        after = admin_sessions(database_url, email)
    assert after[: len(before)] == before
    assert len(after) == len(before) + 1
    assert after[-1] not in before


# --- how a session ends -----------------------------------------------------------------------------------


def test_signing_out_ends_the_session_everywhere(api: Api) -> None:
    with BackOffice(api) as back_office:
        back_office.sign_in_as_admin()
        cookie = session_cookie(back_office)
        signed_out = back_office.sign_out()
        assert is_sign_in_redirect(signed_out)
        assert is_sign_in_redirect(back_office.get(HOME, expect=None))
    with BackOffice(api) as replay:  # the cookie as it was before signing out
        replay.http.cookies.set("shop_admin_session", cookie, path="/admin")
        assert is_sign_in_redirect(replay.get(HOME, expect=None))


def test_signing_out_is_asked_on_a_get(api: Api, admin: BackOffice) -> None:
    asked = admin.get(SIGN_OUT, expect=200)
    assert 'method="post"' in asked.text
    admin.get(HOME, expect=200)  # still signed in


@pytest.mark.parametrize(
    ("column", "shift"),
    [("last_seen_at", "31 minutes"), ("expires_at", "8 hours")],
    ids=["idle for 31 minutes", "signed in 8 hours ago"],
)
def test_an_idle_or_old_session_ends(
    api: Api, admin: BackOffice, database_url: str, column: str, shift: str
) -> None:
    """30 minutes without a request, or 8 hours since signing in, end a session: its clocks are moved back
    (``expires_at`` is the sign-in plus 8 hours)."""
    [newest] = admin_sessions(database_url, api.deployment.admin_email)[-1:]
    with psycopg.connect(database_url) as connection:
        connection.execute(
            f"UPDATE admin_sessions SET {column} = {column} - interval '{shift}'"  # noqa: S608 (our own names)
            " WHERE token_hash = %s",
            (newest,),
        )
    assert is_sign_in_redirect(admin.get(HOME, expect=None))


def test_a_session_ends_when_its_admin_right_is_revoked(api: Api, admin: BackOffice) -> None:
    email = unique("second-admin-") + "@example.com"
    admin.create_user(email, PASSWORD)
    user_id = user_id_of(api, admin, email)
    admin.set_admin(user_id, True)
    with BackOffice(api) as second:
        second.sign_in(email, PASSWORD, expect=302)
        second.get(HOME, expect=200)
        admin.set_admin(user_id, False)
        assert is_sign_in_redirect(second.get(HOME, expect=None))


# --- CSRF -------------------------------------------------------------------------------------------------


def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(api: Api, admin: BackOffice) -> None:
    product = api.create_product(stock=4)
    refused = admin.post(
        stock_path(product["id"]), {"delta": 10, "reason": "forged"}, token_from=None, expect=None
    )
    assert refused.status_code == CSRF_REFUSED[api.name]
    assert api.stock(product["id"]) == 4


def test_a_post_with_a_wrong_csrf_token_is_refused_and_changes_nothing(api: Api, admin: BackOffice) -> None:
    product = api.create_product(stock=4)
    form = {"delta": 10, "reason": "forged", admin.pages.csrf_field: "not-the-token"}
    refused = admin.post(stock_path(product["id"]), form, token_from=None, expect=None)
    assert refused.status_code == CSRF_REFUSED[api.name]
    assert api.stock(product["id"]) == 4


def test_signing_in_without_a_csrf_token_is_refused(api: Api) -> None:
    with BackOffice(api) as back_office:
        form = {"email": api.deployment.admin_email, "password": api.deployment.admin_password}
        refused = back_office.post(SIGN_IN, form, token_from=None, expect=None)
        assert refused.status_code == CSRF_REFUSED[api.name]
        assert is_sign_in_redirect(back_office.get(HOME, expect=None))


# --- products ---------------------------------------------------------------------------------------------


def test_a_product_created_priced_and_stocked_in_the_back_office_is_what_the_api_sells(
    api: Api, admin: BackOffice, database_url: str
) -> None:
    created = admin.create_product(price_cents=1999)
    product_id = created["id"]
    admin.edit_product(product_id, {"name": created["name"], "description": "Now blue.", "price_cents": 2499})
    admin.adjust_stock(product_id, 12, "first delivery")
    admin.adjust_stock(product_id, -2, "two broken")
    product = product_of(api, product_id)
    assert (product["sku"], product["price_cents"], product["stock"]) == (created["sku"], 2499, 10)
    assert product["description"] == "Now blue."
    email = api.deployment.admin_email
    first = {key: created[key] for key in ("sku", "name", "description", "price_cents")}
    assert audit_rows(database_url, "products", product_id) == [
        (email, "product.created", {}, {**first, "stock": 0}),
        (
            email,
            "product.updated",
            {"description": "Made by hand.", "price_cents": 1999},
            {"description": "Now blue.", "price_cents": 2499},
        ),
        (
            email,
            "product.stock_adjusted",
            {"stock": 0},
            {"stock": 12, "delta": 12, "reason": "first delivery"},
        ),
        (email, "product.stock_adjusted", {"stock": 12}, {"stock": 10, "delta": -2, "reason": "two broken"}),
    ]


def test_products_are_searched_by_name_and_sku(api: Api, admin: BackOffice) -> None:
    created = admin.create_product()
    for term in (created["sku"], created["name"].split()[0]):
        listed = admin.get(f"{admin.pages.lists['products']}?search={term}", expect=200).text
        assert created["sku"] in listed, term


def test_a_stock_adjustment_below_zero_is_a_message_and_changes_nothing(api: Api, admin: BackOffice) -> None:
    product = api.create_product(stock=3)
    page = admin.follow(admin.adjust_stock(product["id"], -4, "count"))
    assert "would leave -1" in page
    assert api.stock(product["id"]) == 3


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"price_cents": -1}, "between 0 and"),
        ({"price_cents": "ten"}, "valid integer"),
        ({"sku": "lower-case"}, "capital letters"),
        ({"name": ""}, "required"),
    ],
    ids=["negative price", "price not a number", "bad SKU", "no name"],
)
def test_a_bad_product_form_is_shown_again_with_its_message(
    api: Api, admin: BackOffice, form: dict[str, Any], message: str
) -> None:
    sku = unique("BAD-").upper()
    values = {"sku": sku, "name": "Bad widget", "description": "", "price_cents": 100, **form, "save": "Save"}
    page = admin.pages.product_create
    shown = admin.post(page, values, token_from=page, expect=None)
    assert shown.status_code in (200, 400)  # Flask-Admin answers its form again with 200, SQLAdmin with 400
    assert message in shown.text
    listed = api.http.get("/api/v1/products", params={"q": "Bad widget"}).json()["items"]
    assert sku not in {item["sku"] for item in listed}


def test_a_taken_sku_is_a_message_and_changes_nothing(api: Api, admin: BackOffice) -> None:
    existing = api.create_product(stock=1)
    form = {"sku": existing["sku"], "name": "Copy", "description": "", "price_cents": 1, "save": "Save"}
    page = admin.pages.product_create
    shown = admin.post(page, form, token_from=page, expect=None)
    assert shown.status_code in (200, 400)
    assert "already exists" in shown.text
    assert product_of(api, existing["id"])["name"] == existing["name"]


def test_an_unknown_or_impossible_id_is_not_an_error(api: Api, admin: BackOffice) -> None:
    for product_id in ("2147483647", "99999999999", "abc"):
        shown = admin.get(admin.pages.product.format(id=product_id), expect=None)
        assert shown.status_code in (302, 404), product_id  # Flask-Admin: back to the list; SQLAdmin: 404
    unknown = admin.post(stock_path(2147483647), {"delta": 1, "reason": "x"}, token_from=SIGN_OUT, expect=302)
    assert "does not exist" in admin.follow(unknown)
    for path in (stock_path(99999999999), cancel_path(99999999999), admin_right_path(99999999999)):
        admin.post(path, {"delta": 1, "reason": "x", "is_admin": "true"}, token_from=SIGN_OUT, expect=404)


@pytest.mark.parametrize(
    "query",
    ["search=%00", "page=99999999999999999999", "page=-3", "sort=99", "search=" + "x" * 2000],
    ids=["NUL in a search", "a page past any row", "a negative page", "an unknown sort", "a long search"],
)
def test_a_hostile_list_query_is_not_an_error(api: Api, admin: BackOffice, query: str) -> None:
    shown = admin.get(f"{admin.pages.lists['products']}?{query}", expect=None)
    assert shown.status_code in (200, 302, 400), shown.text[:300]
    if "%00" in query:
        assert shown.status_code == 400
        assert shown.headers["Content-Type"].startswith("application/problem+json")


def test_a_garbled_admin_right_changes_nothing(api: Api, admin: BackOffice, customer: Customer) -> None:
    user_id = user_id_of(api, admin, customer.email)
    page = admin.follow(
        admin.post(
            admin_right_path(user_id),
            {"is_admin": "yes"},
            token_from=admin.pages.user.format(id=user_id),
            expect=302,
        )
    )
    assert "Say true or false" in page
    assert "Grant admin" in admin.get(admin.pages.user.format(id=user_id), expect=200).text


def test_an_oversized_form_is_refused(api: Api, admin: BackOffice) -> None:
    product = api.create_product(stock=2)
    huge = {"delta": 1, "reason": "x" * (2 * 1024 * 1024)}
    refused = admin.post(stock_path(product["id"]), huge, token_from=SIGN_OUT, expect=413)
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert api.stock(product["id"]) == 2


# --- orders -----------------------------------------------------------------------------------------------


def test_cancelling_an_order_in_the_back_office_returns_its_stock(
    api: Api, admin: BackOffice, customer: Customer, database_url: str
) -> None:
    product = api.create_product(stock=5)
    order = api.place_order(customer, [(product["id"], 2)], expect=201).json()
    assert api.stock(product["id"]) == 3
    detail = admin.get(admin.pages.order.format(id=order["id"]), expect=200).text
    assert customer.email in detail
    assert product["sku"] in detail  # its line items
    admin.cancel_order(order["id"])
    assert api.stock(product["id"]) == 5
    seen = api.http.get(f"/api/v1/orders/{order['id']}", headers=customer.auth).json()
    assert seen["status"] == "cancelled"
    # a second tab, still showing the order as it was: the page has no cancel button any more
    again = admin.follow(admin.post(cancel_path(order["id"]), {}, token_from=SIGN_OUT, expect=302))
    assert "cannot be cancelled" in again, re.findall(r"toast-body[^>]*>([^<]*)<", again)
    assert api.stock(product["id"]) == 5
    [(email, action, before, after)] = audit_rows(database_url, "orders", order["id"])
    assert (email, action, after) == (api.deployment.admin_email, "order.cancelled", {"status": "cancelled"})
    assert before["status"] in ("pending", "confirmed")  # the relay may have confirmed it meanwhile


def test_orders_are_filtered_by_status(api: Api, admin: BackOffice, customer: Customer) -> None:
    product = api.create_product(stock=5)
    order = api.place_order(customer, [(product["id"], 1)], expect=201).json()
    admin.cancel_order(order["id"])
    parameter = "flt0_0" if api.name == "flask" else "status"
    listed = admin.get(f"{admin.pages.lists['orders']}?{parameter}=cancelled", expect=200).text
    assert re.search(rf">\s*{order['id']}\s*<", listed)
    pending = admin.get(f"{admin.pages.lists['orders']}?{parameter}=pending", expect=200).text
    assert not re.search(rf">\s*{order['id']}\s*<", pending)


# --- users ------------------------------------------------------------------------------------------------


def user_id_of(api: Api, admin: BackOffice, email: str) -> int:
    listed = admin.get(f"{admin.pages.lists['users']}?search={email}", expect=200).text
    ids = {int(found) for found in re.findall(r"details/(?:\?id=)?(\d+)", listed)}
    assert len(ids) == 1, ids
    return ids.pop()


def test_a_user_created_in_the_back_office_can_log_in_to_the_api(
    api: Api, admin: BackOffice, database_url: str
) -> None:
    email = unique("made-by-admin-") + "@example.com"
    admin.create_user(email, PASSWORD)
    api.token(email, PASSWORD, expect=200)
    user_id = user_id_of(api, admin, email)
    admin.set_admin(user_id, True)
    assert admin.get(admin.pages.user.format(id=user_id), expect=200).text.count("Revoke admin") == 1
    actions = [action for _, action, _, _ in audit_rows(database_url, "users", user_id)]
    assert actions == ["user.created", "user.admin_granted"]


def test_an_admin_cannot_revoke_their_own_admin_right(api: Api, admin: BackOffice) -> None:
    own_id = user_id_of(api, admin, api.deployment.admin_email)
    page = admin.follow(admin.set_admin(own_id, False))
    assert "cannot revoke your own admin right" in page
    admin.get(HOME, expect=200)


def test_no_page_shows_a_password_hash(api: Api, admin: BackOffice) -> None:
    email = unique("hash-") + "@example.com"
    admin.create_user(email, PASSWORD)
    user_id = user_id_of(api, admin, email)
    pages = [*admin.pages.lists.values(), admin.pages.user.format(id=user_id), admin.pages.user_create]
    for page in pages:
        html = admin.get(page, expect=200).text
        assert "$argon2" not in html, page
        assert "password_hash" not in html.lower(), page


# --- the pages themselves ---------------------------------------------------------------------------------


def test_the_pages_load_nothing_from_another_host(api: Api, admin: BackOffice) -> None:
    """Every script, style sheet, image and font the pages name comes from the app itself."""
    origin = urlsplit(api.base_url).netloc
    seen: set[str] = set()
    product = api.create_product(stock=1)
    pages = [HOME, SIGN_OUT, *admin.pages.lists.values(), admin.pages.product_create]
    pages += [admin.pages.product.format(id=product["id"]), admin.pages.product_edit.format(id=product["id"])]
    with BackOffice(api) as stranger:  # the sign-in page, as it is shown before any session
        for client, page in [(stranger, SIGN_IN), *((admin, page) for page in pages)]:
            html = client.get(page, expect=200).text
            seen |= {urljoin(api.base_url + page, reference) for reference in ASSET_REFERENCE.findall(html)}
    for url in [url for url in seen if url.endswith(".css")]:
        css = admin.http.get(url)
        assert css.status_code == 200, url
        for reference in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.text):
            if not reference.startswith("data:"):
                seen.add(urljoin(url, reference))
        for imported in re.findall(r"@import\s+(?:url\()?['\"]([^'\"]+)", css.text):
            seen.add(urljoin(url, imported))
    elsewhere = sorted(url for url in seen if urlsplit(url).netloc != origin)
    assert elsewhere == []


def test_the_back_offices_own_assets_may_be_cached(api: Api) -> None:
    response = httpx.get(f"{api.base_url}/admin/assets/back_office.css")
    assert response.status_code == 200
    assert "max-age=3600" in response.headers["Cache-Control"]
    assert response.headers["Content-Type"].startswith("text/css")


# --- a race -----------------------------------------------------------------------------------------------


def test_stock_adjustments_racing_orders_lose_nothing(api: Api, admin: BackOffice, database_url: str) -> None:
    """Adjustments from the back office and orders from the API, at once, on one product: the stock ends as
    the first stock plus the adjustments minus the units ordered, and never went below zero."""
    product = api.create_product(stock=10)
    customers = [api.new_customer() for _ in range(6)]
    page = admin.pages.product.format(id=product["id"])
    token = admin.token(page)
    cookie = "; ".join(f"{name}={value}" for name, value in admin.http.cookies.items())
    deltas = [5, -3, 4, -2, 6, -1]

    def adjust(delta: int) -> Any:
        def send(client: httpx.Client) -> httpx.Response:
            form = {"delta": str(delta), "reason": "race", admin.pages.csrf_field: token}
            return client.post(stock_path(product["id"]), data=form, headers={"Cookie": cookie})

        return send

    def order(customer: Customer) -> Any:
        def send(client: httpx.Client) -> httpx.Response:
            body = {"items": [{"product_id": product["id"], "quantity": 3}]}
            return client.post("/api/v1/orders", json=body, headers=customer.auth)

        return send

    requests = [adjust(delta) for delta in deltas] + [order(customer) for customer in customers]
    responses = run_together(api.base_url, requests)
    adjusted = responses[: len(deltas)]
    orders = responses[len(deltas) :]
    assert all(response.status_code == 302 for response in adjusted), [r.status_code for r in adjusted]
    assert {response.status_code for response in orders} <= {201, 409}
    ordered = 3 * sum(response.status_code == 201 for response in orders)
    with psycopg.connect(database_url) as connection:
        [[applied]] = connection.execute(
            "SELECT coalesce(sum((after ->> 'delta')::int), 0) FROM audit_entries"
            " WHERE entity = 'products' AND entity_id = %s AND action = 'product.stock_adjusted'",
            (product["id"],),
        ).fetchall()
    assert api.stock(product["id"]) == 10 + applied - ordered >= 0
