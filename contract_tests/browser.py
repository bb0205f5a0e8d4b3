"""A real browser for the contract suite, with no internet: headless Chromium driven by Playwright.

The browser may reach the app under test and nothing else: every other request is refused and fails the
test, so a page that still needed a CDN (its scripts, fonts or styles) would fail here, as it would render
blank for someone behind a proxy or in a locked-down cluster.

Chromium is the system's (Debian's ``chromium`` package; ``SHOP_TEST_CHROMIUM`` names another executable):
Playwright downloads no browser. Without one, the tests that use :func:`page` are skipped, unless
``SHOP_TEST_REQUIRE_BROWSER=1`` (CI sets it) makes that a failure. Screenshots go to
``test-artifacts/screenshots/`` (or ``$SHOP_TEST_ARTIFACTS/screenshots/``). Loaded by the root
``conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright

from contract_tests.client import Api
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
