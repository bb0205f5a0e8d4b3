"""Prometheus metrics, the same names and labels in both apps, served at ``GET /metrics`` in the text format.

| metric | type | labels |
| --- | --- | --- |
| ``http_requests_total`` | counter | ``method``, ``route``, ``status`` |
| ``http_request_duration_seconds`` | histogram | ``method``, ``route`` |
| ``shop_orders_placed_total`` | counter | |
| ``shop_order_confirmations_total`` | counter | ``result``: ``sent``, ``skipped``, ``failed`` |
| ``shop_outbox_pending`` | gauge | |
| ``shop_outbox_oldest_pending_seconds`` | gauge | |
| ``shop_websockets_open`` | gauge | |
| ``shop_websocket_messages_sent_total`` | counter | |
| ``shop_websocket_closes_total`` | counter | ``code``: the close code the server sent (``sockets.Close``) |

``route`` is the matched route's template as the OpenAPI document writes it (``/api/v1/orders/{order_id}``),
never the raw path, so that ids do not make a series each (a ``405``'s is its path's template); a request
whose path no route matched is ``unmatched``.
The two outbox gauges are read from the database when ``/metrics`` is scraped
(:func:`shared.db.statements.outbox_backlog`), so every process reports the same, true figure.

Several worker processes (gunicorn's, or uvicorn's ``--workers``): each process counts in its own memory,
so a scrape would see one worker's share. prometheus-client's multiprocess mode fixes that: when
``PROMETHEUS_MULTIPROC_DIR`` names a writable directory, every process writes its counts there and a scrape
adds them up (:func:`exposition`). ``flask_shop/gunicorn.conf.py`` sets it for gunicorn's workers; set it
yourself to an empty directory before starting ``uvicorn --workers N``. Its files must not outlive the
server: start each run with an empty directory (prometheus-client's documentation, "Multiprocess Mode").

The library is prometheus-client, used directly: the per-framework exporters
(prometheus-fastapi-instrumentator, prometheus-flask-exporter) each pick their own metric names and labels,
so the two apps would differ.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from shared.http.api import STATIC_URL_PATH
from shared.http.sockets import Close

# no *_created samples: multiprocess mode has none, and the two modes must expose the same series
disable_created_metrics()  # type: ignore[no-untyped-call]
MEDIA_TYPE = CONTENT_TYPE_LATEST  # text/plain; version=1.0.0; charset=utf-8
UNMATCHED_ROUTE = "unmatched"
# the docs' scripts: Flask's static rule, /static/<path:filename>, and the FastAPI app's /static mount
STATIC_ROUTE = f"{STATIC_URL_PATH}/{{filename}}"

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request reaching the app to its response, in seconds, by method and route template",
    ["method", "route"],
    # from a cached read (~1 ms) to a request that waited out a lock and a retry (~10 s)
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ORDERS_PLACED = Counter(
    "shop_orders_placed_total", "Orders placed (a replayed Idempotency-Key is not counted)"
)
ORDER_CONFIRMATIONS = Counter(
    "shop_order_confirmations_total",
    "Order confirmations handled: sent, skipped (the order was cancelled) or failed (the mailer refused)",
    ["result"],
)

WEBSOCKETS_OPEN = Gauge(
    "shop_websockets_open",
    "Live order sockets open now (accepted, not yet closed)",
    multiprocess_mode="livesum",  # the workers alive now, added up
)
WEBSOCKET_MESSAGES_SENT = Counter(
    "shop_websocket_messages_sent", "Order state messages sent on live order sockets"
)
WEBSOCKET_CLOSES = Counter(
    "shop_websocket_closes", "Live order sockets the server closed, by close code", ["code"]
)
for _close in Close:  # every code from the start, at 0: the series a scrape shows do not depend on traffic
    WEBSOCKET_CLOSES.labels(str(_close.value))

_PATH_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^:<>]+)>")  # Werkzeug's <converter:name>, or <name>


def route_template(rule: str) -> str:
    """A Werkzeug rule as the OpenAPI document writes the route: ``/orders/<id:order_id>`` is
    ``/orders/{order_id}``, as Starlette's ``path_format`` already is."""
    return _PATH_PARAMETER.sub(r"{\1}", rule)


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration (``route`` from :func:`route_template`)."""
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_REQUEST_DURATION.labels(method, route).observe(seconds)


@dataclass(frozen=True)
class OutboxBacklog:
    """Unsent outbox messages: how many, and the age of the oldest in seconds (0 when there is none)."""

    pending: int
    oldest_pending_seconds: float

    @classmethod
    def from_row(cls, pending: int, oldest_pending_seconds: float | None) -> OutboxBacklog:
        """From the row :func:`shared.db.statements.outbox_backlog` selects, whose age is NULL when nothing is
        pending."""
        return cls(pending, oldest_pending_seconds or 0.0)


class _OutboxCollector(Collector):
    def __init__(self, backlog: OutboxBacklog) -> None:
        self._backlog = backlog

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "shop_outbox_pending", "Outbox messages not sent yet", value=self._backlog.pending
        )
        yield GaugeMetricFamily(
            "shop_outbox_oldest_pending_seconds",
            "Age of the oldest unsent outbox message in seconds (0 when there is none)",
            value=self._backlog.oldest_pending_seconds,
        )


def exposition(backlog: OutboxBacklog | None) -> bytes:
    """The body of ``GET /metrics`` (:data:`MEDIA_TYPE`): the counts of every worker process (multiprocess
    mode, when ``PROMETHEUS_MULTIPROC_DIR`` is set) or of this one with its ``process_*`` metrics, then the
    outbox gauges (left out when ``backlog`` is None: the database did not answer)."""
    counted = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    if backlog is None:
        return generate_latest(counted)
    outbox = CollectorRegistry()
    outbox.register(_OutboxCollector(backlog))
    return generate_latest(counted) + generate_latest(outbox)
