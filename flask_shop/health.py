"""Liveness and readiness probes (the Kubernetes terms): ``/healthz`` and ``/readyz``."""

from __future__ import annotations

from flask import abort, current_app
from sqlalchemy import text

from flask_shop.schemas import HealthSchema
from flask_shop.smorest import Blueprint
from shared.schema import SchemaGate, current_revision

blp = Blueprint("operations", __name__, description="Operations")

READINESS_TIMEOUT_SECONDS = 2


@blp.get("/healthz")
@blp.response(200, HealthSchema)
def liveness() -> dict[str, str]:
    """The process is up and serving. Never touches the database, so a database outage restarts nothing."""
    return {"status": "ok"}


@blp.get("/readyz")
@blp.response(200, HealthSchema)
@blp.problem_responses(503)
def readiness() -> dict[str, str]:
    """The database answers within 2 seconds (once connected; connecting may take up to the engine's 5 s
    connect timeout) and has this code's schema (see :mod:`shared.schema`); 503 otherwise, with the reason.
    Until the schema first matches, each check reads the Alembic revision; after that, only ``SELECT 1``."""
    schema_gate: SchemaGate = current_app.extensions["shop.schema_gate"]
    try:
        with current_app.extensions["shop.engine"].connect() as connection:
            connection.execute(text(f"SET LOCAL statement_timeout = {READINESS_TIMEOUT_SECONDS * 1000}"))
            if schema_gate.passed:
                connection.execute(text("SELECT 1"))
            else:
                revision = current_revision(connection)
    except Exception:
        abort(503, "The database is not answering.")
    if not schema_gate.passed and (reason := schema_gate.check(revision)):
        abort(503, reason)
    return {"status": "ok"}
