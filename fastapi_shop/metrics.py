"""``GET /metrics``: Prometheus' text format, the same names as the Flask app's
(:mod:`shared.observability.metrics`).

Not in the OpenAPI document: it is for Prometheus, not for the API's clients, and the Kubernetes ingress
does not route it (Prometheus scrapes each pod directly; see ``k8s/``).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from fastapi_shop.resources import EngineDep
from shared.db.statements import outbox_backlog
from shared.observability.metrics import MEDIA_TYPE, OutboxBacklog, exposition

router = APIRouter(include_in_schema=False)
log = logging.getLogger("shop.metrics")


@router.get("/metrics")
async def metrics(engine: EngineDep) -> Response:
    """Every counter, and the outbox gauges read from the database now: left out, with a warning logged, when
    the database does not answer, so that a scrape still shows the requests an outage failed."""
    backlog = None
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(outbox_backlog())).one()
        backlog = OutboxBacklog.from_row(*row)
    except Exception as exc:
        log.warning("outbox gauges left out of /metrics: %s", type(exc).__name__)
    return Response(exposition(backlog), media_type=MEDIA_TYPE)
