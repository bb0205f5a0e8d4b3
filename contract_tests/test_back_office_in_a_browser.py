"""The back office in a real browser with no internet (:mod:`contract_tests.browser`), both apps: an admin
signs in, runs the shop for a while, and signs out; every change is read back through the public API.

Each admin's pages are its framework's (Flask-Admin, SQLAdmin); the steps and what they must achieve are
the same. A screenshot of each step goes to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from contract_tests.back_office import HOME, PAGES, SIGN_IN, SIGN_OUT
from contract_tests.client import PASSWORD, Api, Customer, unique


def sign_in(page: Page, api: Api, email: str, password: str) -> None:
    page.goto(f"{api.base_url}{HOME}")
    expect(page.locator("#password")).to_be_visible()  # sent to the sign-in page
    assert urlsplit(page.url).path == SIGN_IN
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def save(page: Page) -> None:
    page.locator('input[type="submit"][value="Save"]').first.click()


def test_an_admin_runs_the_shop_in_the_back_office(
    page: Page, api: Api, customer: Customer, screenshots: Path
) -> None:
    pages = PAGES[api.name]
    shot = f"{api.name}-back-office"
    base = api.base_url

    # refused: a wrong password, a customer's right one
    sign_in(page, api, api.deployment.admin_email, "not the password")
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()
    sign_in(page, api, customer.email, customer.password)
    expect(page.get_by_text("This account cannot use the back office.")).to_be_visible()
    page.screenshot(path=screenshots / f"{shot}-1-refused.png", full_page=True)

    sign_in(page, api, api.deployment.admin_email, api.deployment.admin_password)
    expect(page.locator("#orders-today")).to_be_visible()
    expect(page.locator("#lowest-stock")).to_be_visible()
    page.screenshot(path=screenshots / f"{shot}-2-dashboard.png", full_page=True)

    # a product: created, priced, stocked
    sku = unique("BROWSER-").upper()
    page.goto(f"{base}{pages.product_create}")
    page.locator("#sku").fill(sku)
    page.locator("#name").fill(f"Browser widget {sku}")
    page.locator("#description").fill("Made in a browser.")
    page.locator("#price_cents").fill("1500")
    page.screenshot(path=screenshots / f"{shot}-3-new-product.png", full_page=True)
    save(page)
    page.wait_for_url(lambda url: urlsplit(url).path != pages.product_create)  # saved: back to the list
    found = api.http.get("/api/v1/products", params={"q": f"Browser widget {sku}"}).json()["items"]
    [product] = [item for item in found if item["sku"] == sku]
    page.goto(f"{base}{pages.product_edit.format(id=product['id'])}")
    page.locator("#price_cents").fill("1750")
    save(page)
    page.goto(f"{base}{pages.product.format(id=product['id'])}")
    page.locator("#delta").fill("20")
    page.locator("#reason").fill("first delivery")
    page.get_by_role("button", name="Adjust stock").click()
    expect(page.get_by_text(f"{sku}: 20 in stock.")).to_be_attached()
    page.screenshot(path=screenshots / f"{shot}-4-stocked.png", full_page=True)
    sold = api.http.get(f"/api/v1/products/{product['id']}").json()
    assert (sold["price_cents"], sold["stock"]) == (1750, 20)

    # an order placed through the API, cancelled here: its units go back
    order = api.place_order(customer, [(product["id"], 3)], expect=201).json()
    assert api.stock(product["id"]) == 17
    page.goto(f"{base}{pages.order.format(id=order['id'])}")
    expect(page.locator("#line-items")).to_contain_text(sku)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_text(f"Order {order['id']} is cancelled")).to_be_attached()
    page.screenshot(path=screenshots / f"{shot}-5-cancelled.png", full_page=True)
    assert api.stock(product["id"]) == 20
    seen = api.http.get(f"/api/v1/orders/{order['id']}", headers=customer.auth).json()
    assert seen["status"] == "cancelled"

    # a user: created, then made an admin
    email = unique("browser-made-") + "@example.com"
    page.goto(f"{base}{pages.user_create}")
    page.locator("#email").fill(email)
    page.locator("#full_name").fill("Grace Hopper")
    page.locator("#password").fill(PASSWORD)
    save(page)
    page.goto(f"{base}{pages.lists['users']}?search={email}")
    page.get_by_text(email).first.wait_for()
    user_link = page.locator("a[href*='/admin/user/details']").first
    user_link.click()
    page.get_by_role("button", name="Grant admin").click()
    expect(page.get_by_role("button", name="Revoke admin")).to_be_visible()
    api.token(email, PASSWORD, expect=200)

    # the audit trail has each of them
    page.goto(f"{base}{pages.lists['audit']}")  # newest first: this walk-through's own entries
    newest = page.locator("table tbody tr").filter(has_not_text="nothing")
    expect(newest.filter(has_text="product.created").filter(has_text=sku)).to_have_count(1)
    expect(newest.filter(has_text="user.created").filter(has_text=email)).to_have_count(1)
    for action in ("product.updated", "product.stock_adjusted", "order.cancelled", "user.admin_granted"):
        expect(newest.filter(has_text=action).first).to_be_visible()
    page.screenshot(path=screenshots / f"{shot}-6-audit.png", full_page=True)

    # signed out, the session is gone
    page.goto(f"{base}{SIGN_OUT}")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(f"{base}{HOME}")
    expect(page.locator("#password")).to_be_visible()
    page.screenshot(path=screenshots / f"{shot}-7-signed-out.png", full_page=True)
