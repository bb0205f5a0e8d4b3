"""``GET /metrics``: Prometheus' text format, the same metric names and labels in both apps
(``shared/observability/metrics.py``), counting across worker processes."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from contract_tests.client import Api, Customer, unique

# sample name -> its labels, as both apps must expose them ("" for a sample without labels)
EXPECTED_SAMPLES = {
    "http_requests_total": {"method", "route", "status"},
    "http_request_duration_seconds_bucket": {"method", "route", "le"},
    "http_request_duration_seconds_count": {"method", "route"},
    "http_request_duration_seconds_sum": {"method", "route"},
    "shop_orders_placed_total": set(),
    "shop_order_confirmations_total": {"result"},
    "shop_outbox_pending": set(),
    "shop_outbox_oldest_pending_seconds": set(),
}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: Api) -> Samples:
    """Every sample of ``/metrics``, keyed by name and labels."""
    response = api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")  # the text format
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_are_exposed_with_their_labels(api: Api) -> None:
    api.http.get("/healthz")  # so that the request metrics have a sample
    api.new_customer()
    labels_by_name: dict[str, set[str]] = {}
    for name, sample_labels in scrape(api):
        labels_by_name.setdefault(name, set()).update(key for key, _ in sample_labels)
    for name, expected in EXPECTED_SAMPLES.items():
        if name == "shop_order_confirmations_total" and name not in labels_by_name:
            continue  # no confirmation handled yet: the counter has no labelled sample
        assert labels_by_name.get(name) == expected, name
    assert value(scrape(api), "http_requests_total", method="GET", route="/healthz", status="200") >= 1


def test_both_apps_expose_the_same_metrics(fastapi_and_flask: tuple[Api, Api]) -> None:
    names = []
    for api in fastapi_and_flask:
        api.http.get("/healthz")
        names.append({name for name, _ in scrape(api) if name.startswith(("http_", "shop_"))})
    assert names[0] == names[1]


def test_placing_an_order_moves_the_counters(api: Api, customer: Customer) -> None:
    product = api.create_product(stock=3)
    route = {"method": "POST", "route": "/api/v1/orders"}
    before = scrape(api)
    key = unique("metrics-")
    placed = api.place_order(customer, [(product["id"], 1)], key=key, expect=201)
    api.wait_until_confirmed(customer, placed.json()["id"])
    replayed = api.place_order(customer, [(product["id"], 1)], key=key, expect=201)
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    after = scrape(api)

    assert (
        value(after, "shop_orders_placed_total") - value(before, "shop_orders_placed_total") == 1
    )  # not the replay
    sent = value(after, "shop_order_confirmations_total", result="sent")
    assert sent - value(before, "shop_order_confirmations_total", result="sent") >= 1
    created = {**route, "status": "201"}
    assert (
        value(after, "http_requests_total", **created) - value(before, "http_requests_total", **created) == 2
    )
    observed = value(after, "http_request_duration_seconds_count", **route)
    assert observed - value(before, "http_request_duration_seconds_count", **route) == 2
    # the route's template, never the raw path with its id
    order_path = f"/api/v1/orders/{placed.json()['id']}"
    assert order_path not in api.http.get("/metrics").text
    assert value(after, "shop_outbox_pending") >= 0
    assert value(after, "shop_outbox_oldest_pending_seconds") >= 0


def test_requests_are_counted_across_worker_processes(api: Api) -> None:
    """Each request on a new connection, so that the server spreads them over its workers (the Flask app
    runs two on the local stack): one scrape still counts every one of them. (A product read: no probe
    sends one meanwhile.)"""
    product = api.create_product()
    read = {"method": "GET", "route": "/api/v1/products/{product_id}", "status": "200"}
    before = value(scrape(api), "http_requests_total", **read)
    requests = 40
    for _ in range(requests):
        with httpx.Client(base_url=api.base_url, timeout=10) as fresh:
            assert fresh.get(f"/api/v1/products/{product['id']}").status_code == 200
    assert value(scrape(api), "http_requests_total", **read) - before == requests


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/orders/99999999999999999999"])
def test_unmatched_requests_are_counted_under_one_route(api: Api, path: str) -> None:
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    before = value(scrape(api), "http_requests_total", **labels)
    assert api.http.get(path).status_code == 404
    assert value(scrape(api), "http_requests_total", **labels) - before == 1
