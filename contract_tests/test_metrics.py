"""``GET /metrics``: Prometheus' text format, the same metric names and labels in both apps
(``shared/observability/metrics.py``), counting across worker processes."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from contract_tests.client import Api, Customer, unique
from contract_tests.conformance import checked_client

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


# The same requests, sent to each app: the API's routes, its documents and docs pages, a static file, and
# requests that match no route. (Not the probes: a container's health check may call them meanwhile.)
SAME_TRAFFIC = [
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/static/redoc/redoc.standalone.js"),
    ("GET", "/api/v1/products?limit=1"),
    ("GET", "/api/v1/products/2147483647"),
    ("GET", "/api/v1/users/me"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/nothing-here"),
    ("DELETE", "/api/v1/products"),
]
PROBES = {"/healthz", "/readyz"}
# the runtime's own families (process_*, python_*): prometheus-client has them in one process only, so the
# Flask app's workers (multiprocess mode) have none; the apps' own families are compared
OWN_FAMILIES = ("http_", "shop_")


def counted_requests(before: Samples, after: Samples) -> dict[frozenset[tuple[str, str]], float]:
    """``http_requests_total`` by its labels (method, route, status): how much each grew from ``before`` to
    ``after``, probes left out."""
    grown = {}
    for (name, labels), count in after.items():
        delta = count - before.get((name, labels), 0.0)
        if name == "http_requests_total" and dict(labels)["route"] not in PROBES and delta:
            grown[labels] = delta
    return grown


def test_the_same_requests_are_counted_alike_in_both_apps(fastapi_and_flask: tuple[Api, Api]) -> None:
    counted, families = [], []
    for api in fastapi_and_flask:
        before = scrape(api)
        for method, path in SAME_TRAFFIC:
            api.http.request(method, path)
        after = scrape(api)
        counted.append(counted_requests(before, after))
        labels_by_family: dict[str, set[str]] = {}
        for name, labels in after:
            if name.startswith(OWN_FAMILIES):
                labels_by_family.setdefault(name, set()).update(label for label, _ in labels)
        families.append(labels_by_family)
    fastapi, flask = ({tuple(sorted(labels)): n for labels, n in c.items()} for c in counted)
    assert fastapi == flask
    assert families[0] == families[1]
    routes = {dict(labels)["route"] for labels in counted[0]}
    assert {"/openapi.json", "/docs", "/redoc", "/static/{filename}", "unmatched"} <= routes


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
        with checked_client(api.base_url, timeout=10, conformance=api.conformance) as fresh:
            assert fresh.get(f"/api/v1/products/{product['id']}").status_code == 200
    assert value(scrape(api), "http_requests_total", **read) - before == requests


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/orders/99999999999999999999"])
def test_unmatched_requests_are_counted_under_one_route(api: Api, path: str) -> None:
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    before = value(scrape(api), "http_requests_total", **labels)
    assert api.http.get(path).status_code == 404
    assert value(scrape(api), "http_requests_total", **labels) - before == 1


def test_promtool_accepts_the_exposition(api: Api, customer: Customer) -> None:
    """Prometheus' own linter (``promtool check metrics``: the text format, names, help, units) on a scrape
    with every family in it. CI installs it (Debian's ``prometheus``) and sets ``SHOP_TEST_REQUIRE_PROMTOOL``,
    so that a missing one fails there instead of skipping."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("SHOP_TEST_REQUIRE_PROMTOOL"):
            pytest.fail("SHOP_TEST_REQUIRE_PROMTOOL is set, and there is no promtool on PATH")
        pytest.skip("no promtool: apt-get install prometheus")
    product = api.create_product(stock=1)
    placed = api.place_order(customer, [(product["id"], 1)], expect=201)
    api.wait_until_confirmed(customer, placed.json()["id"])  # shop_order_confirmations_total has a sample
    scraped = api.http.get("/metrics")
    assert scraped.status_code == 200
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=scraped.text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
