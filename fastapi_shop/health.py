"""Liveness and readiness probes (the Kubernetes terms): ``/healthz`` and ``/readyz``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException
from sqlalchemy import text

from fastapi_shop.errors import problem_responses
from fastapi_shop.resources import EngineDep, SchemaGateDep
from fastapi_shop.routing import ShopRoute
from fastapi_shop.schemas import Health
from shared.db.revisions import current_revision

router = APIRouter(tags=["operations"], route_class=ShopRoute)

READINESS_TIMEOUT_SECONDS = 2


@router.get("/healthz", response_model=Health)
async def liveness() -> Health:
    """The process is up and serving.

    Never touches the database, so a database outage restarts nothing.
    """
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses=problem_responses(503))
async def readiness(engine: EngineDep, schema_gate: SchemaGateDep) -> Health:
    """Ready for traffic: the database answers and has this code's schema.

    503 with the reason if not, or if the database does not answer within 2 seconds.
    """
    # Until the schema first matches, each check reads the Alembic revision (shared.db.revisions); after that,
    # only SELECT 1. asyncio.timeout cancels the check itself, whatever the database does.
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), engine.connect() as connection:
            if schema_gate.passed:
                await connection.execute(text("SELECT 1"))
            else:
                revision = await connection.run_sync(current_revision)
    except TimeoutError as exc:
        detail = f"The database did not answer within {READINESS_TIMEOUT_SECONDS} seconds."
        raise HTTPException(503, detail) from exc
    except Exception as exc:
        raise HTTPException(503, "The database is not answering.") from exc
    if not schema_gate.passed and (reason := schema_gate.check(revision)):
        raise HTTPException(503, reason)
    return Health(status="ok")
