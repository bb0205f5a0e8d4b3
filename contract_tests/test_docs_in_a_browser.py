"""``/docs`` and ``/redoc`` in a real browser with no internet: headless Chromium driven by Playwright.

The browser may reach the app under test and nothing else: every other request is refused and fails the
test, so a page that still needed a CDN (its scripts, fonts or styles) would fail here, as it would render
blank for someone behind a proxy or in a locked-down cluster.

Chromium is the system's (Debian's ``chromium`` package; ``SHOP_TEST_CHROMIUM`` names another executable):
Playwright downloads no browser. Without one, these tests are skipped, unless ``SHOP_TEST_REQUIRE_BROWSER=1``
(CI sets it) makes that a failure. Screenshots of each step go to ``test-artifacts/screenshots/`` (or
``$SHOP_TEST_ARTIFACTS/screenshots/``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, Route, expect, sync_playwright

from contract_tests.client import Api, Customer, unique
from contract_tests.stacks import ROOT

# Chromium's own background traffic (updates, sync, field trials) would only be refused here
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# refused like everything else beyond the app, and allowed to fail: ReDoc's "API docs by Redocly" badge, which
# hides itself when it cannot load
DECORATIONS = {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
METHODS = {"get", "post", "patch", "put", "delete"}
STEP_TIMEOUT_MS = 15_000  # a step that takes longer has failed; the first render parses ~3 MB of script


def _chromium() -> str | None:
    named = os.environ.get("SHOP_TEST_CHROMIUM")
    return named or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    if executable is None:
        message = "no Chromium: install Debian's chromium package, or set SHOP_TEST_CHROMIUM"
        if os.environ.get("SHOP_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    playwright: Playwright
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(os.environ.get("SHOP_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser: Browser, api: Api) -> Iterator[Page]:
    """A fresh page that may load from the app under test only; any other request fails the test."""
    app_origin = urlsplit(api.base_url)
    refused: list[str] = []

    def only_the_app(route: Route) -> None:
        url = urlsplit(route.request.url)
        if (url.scheme, url.netloc) == (app_origin.scheme, app_origin.netloc):
            route.continue_()
        else:
            if route.request.url not in DECORATIONS:
                refused.append(route.request.url)
            route.abort("internetdisconnected")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.route("**/*", only_the_app)
    errors: list[str] = []
    opened = context.new_page()
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert refused == [], "the page reached beyond the app"
    assert errors == [], "the page's scripts failed"


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
