"""The live order socket from a browser: headless Chromium, on a page of the app's own (``/docs``), opens the
socket as a web page would, with the token as its first message (a browser cannot set ``Authorization`` on
a WebSocket), and sees the order's confirmation arrive (:mod:`contract_tests.browser` says where Chromium
comes from and when this is skipped)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from contract_tests.client import Api, Customer
from contract_tests.sockets import RECEIVE_SECONDS, pending_order

# what a page's script does: watch an order, keeping each message and the close in window.watched
WATCH = """([path, token]) => {
    window.watched = {messages: [], close: null};
    const socket = new WebSocket(new URL(path, location.href.replace(/^http/, "ws")));
    socket.onopen = () => socket.send(JSON.stringify({token}));
    socket.onmessage = (event) => window.watched.messages.push(JSON.parse(event.data));
    socket.onclose = (event) => { window.watched.close = [event.code, event.reason]; };
}"""


def test_a_page_watches_its_order_being_confirmed(
    page: Page, api: Api, customer: Customer, database_url: str, screenshots: Path
) -> None:
    page.goto(f"{api.base_url}/docs")
    with pending_order(api, customer, database_url) as order_id:
        page.evaluate(WATCH, [f"/api/v1/orders/{order_id}/events", customer.token])
        page.wait_for_function("window.watched.messages.length >= 1", timeout=RECEIVE_SECONDS * 1000)
        assert page.evaluate("window.watched.messages.map((m) => m.status)") == ["pending"]
    # the test's lock on the order is gone: the confirmation commits, and the page hears of it
    page.wait_for_function("window.watched.messages.length >= 2", timeout=RECEIVE_SECONDS * 1000)
    messages = page.evaluate("window.watched.messages")
    assert [message["status"] for message in messages] == ["pending", "confirmed"]
    assert {message["order_id"] for message in messages} == {order_id}
    assert page.evaluate("window.watched.close") is None  # a confirmed order may still be cancelled
    page.screenshot(path=screenshots / f"{api.name}-order-socket.png")
