"""``/docs`` and ``/redoc`` in a real browser with no internet: headless Chromium driven by Playwright, which
may reach the app under test and nothing else (:mod:`contract_tests.browser`: where Chromium comes from,
when these tests are skipped, where the screenshots go).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from contract_tests.client import Api, Customer, unique

METHODS = {"get", "post", "patch", "put", "delete"}


def _operation(page: Page, method: str, path: str) -> Locator:
    """Swagger UI's block for one operation, expanded."""
    block = page.locator(f".opblock-{method}").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )
    block.locator(".opblock-summary").first.click()
    return block


def _execute(block: Locator) -> tuple[int, dict[str, Any]]:
    """Press "Execute" on an expanded, tried-out operation; the live response's status and JSON body."""
    block.locator("button.execute").click()
    live = block.locator(".live-responses-table tbody tr.response").first
    expect(live).to_be_visible()
    status = int(live.locator(".response-col_status").inner_text().strip())
    body = live.locator(".response-col_description pre.microlight").first.inner_text()
    return status, json.loads(body)


def test_swagger_ui_logs_in_and_calls_the_api(
    page: Page, api: Api, customer: Customer, screenshots: Path
) -> None:
    """Open /docs, "Authorize" through the OAuth2 password form with a real account, then "Try it out" on
    ``GET /api/v1/users/me`` and ``POST /api/v1/orders``: the page shows what the API answered."""
    product = api.create_product(stock=5, price_cents=1999)
    shot = f"{api.name}-swagger-ui"

    page.goto(f"{api.base_url}/docs")
    expect(page.locator(".information-container .title")).to_contain_text(api.name, ignore_case=True)
    expect(page.locator(".opblock")).to_have_count(14)
    page.screenshot(path=screenshots / f"{shot}-1-loaded.png", full_page=True)

    page.locator(".auth-wrapper button.authorize").click()
    modal = page.locator(".modal-ux")
    modal.locator("#oauth_username").fill(customer.email)
    modal.locator("#oauth_password").fill(customer.password)
    modal.locator("button.modal-btn.authorize").click()
    # the token endpoint said 200: the form is replaced by "Authorized", and the button logs out
    expect(modal.locator("button.modal-btn.authorize")).to_have_text("Logout")
    page.screenshot(path=screenshots / f"{shot}-2-authorized.png")
    modal.locator("button.btn-done").click()

    me = _operation(page, "get", "/api/v1/users/me")
    me.locator("button.try-out__btn").click()
    status, body = _execute(me)
    assert (status, body) == (200, {**body, "id": customer.id, "email": customer.email})
    me.screenshot(path=screenshots / f"{shot}-3-users-me.png")

    order = _operation(page, "post", "/api/v1/orders")
    order.locator("button.try-out__btn").click()
    order.locator('tr[data-param-name="Idempotency-Key"] input').fill(unique("docs-"))
    lines = {"items": [{"product_id": product["id"], "quantity": 2}]}
    order.locator("textarea.body-param__text").fill(json.dumps(lines))
    status, body = _execute(order)
    assert status == 201, body
    assert body["total_cents"] == 2 * 1999
    assert [(line["product_id"], line["quantity"]) for line in body["items"]] == [(product["id"], 2)]
    assert api.stock(product["id"]) == 3  # the page placed a real order
    order.screenshot(path=screenshots / f"{shot}-4-order-placed.png")


def test_redoc_lists_every_operation(page: Page, api: Api, screenshots: Path) -> None:
    """Open /redoc: its menu lists each operation as its method and summary, and one opens."""
    spec = api.http.get("/openapi.json").json()
    expected = {
        method + operation["summary"]  # a menu label is the method's badge, then the summary
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    }
    page.goto(f"{api.base_url}/redoc")
    menu = page.locator(".menu-content")
    operations = menu.locator("label:has(.operation-type)")
    expect(operations).to_have_count(len(expected))
    assert {label.strip() for label in operations.all_text_contents()} == expected
    place_order = spec["paths"]["/api/v1/orders"]["post"]["summary"]
    menu.locator("label", has_text="orders").first.click()  # open the tag's group
    menu.get_by_text(place_order, exact=True).click()
    expect(page.locator("h2", has_text=place_order)).to_be_visible()
    page.screenshot(path=screenshots / f"{api.name}-redoc.png")
