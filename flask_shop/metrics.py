"""``GET /metrics``: Prometheus' text format, the same names as the FastAPI app's
(:mod:`shared.observability.metrics`).

A plain Flask blueprint, not flask-smorest's: it is for Prometheus, not for the API's clients, so it stays
out of the OpenAPI document, and the Kubernetes ingress does not route it (Prometheus scrapes each pod
directly; see ``k8s/``).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app

from shared.db.statements import outbox_backlog
from shared.observability.metrics import MEDIA_TYPE, OutboxBacklog, exposition

bp = Blueprint("metrics", __name__)
log = logging.getLogger("shop.metrics")


@bp.get("/metrics")
def metrics() -> Response:
    """Every counter, and the outbox gauges read from the database now: left out, with a warning logged, when
    the database does not answer, so that a scrape still shows the requests an outage failed."""
    backlog = None
    try:
        with current_app.extensions["shop.engine"].connect() as connection:
            row = connection.execute(outbox_backlog()).one()
        backlog = OutboxBacklog.from_row(*row)
    except Exception as exc:
        log.warning("outbox gauges left out of /metrics: %s", type(exc).__name__)
    return Response(exposition(backlog), content_type=MEDIA_TYPE)
