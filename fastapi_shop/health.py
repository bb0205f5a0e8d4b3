"""Liveness and readiness probes (the Kubernetes terms): ``/healthz`` and ``/readyz``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import text

from fastapi_shop.errors import problem_responses
from fastapi_shop.schemas import Health

router = APIRouter(tags=["operations"])

READINESS_TIMEOUT_SECONDS = 2


@router.get("/healthz", response_model=Health)
async def liveness() -> Health:
    """The process is up and serving. Never touches the database, so a database outage restarts nothing."""
    return Health()


@router.get("/readyz", response_model=Health, responses=problem_responses(503))
async def readiness(request: Request) -> Health:
    """The database answers ``SELECT 1`` within 2 seconds; 503 otherwise (out of rotation until it does)."""
    try:
        async with (
            asyncio.timeout(READINESS_TIMEOUT_SECONDS),
            request.app.state.engine.connect() as connection,
        ):
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise HTTPException(503, "The database is not answering.") from exc
    return Health()
