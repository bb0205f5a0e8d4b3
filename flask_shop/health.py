"""Liveness and readiness probes (the Kubernetes terms): ``/healthz`` and ``/readyz``."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Flask, abort, current_app
from sqlalchemy import Engine, text

from flask_shop.schemas import HealthSchema
from flask_shop.smorest import Blueprint
from shared.db.revisions import SchemaGate, current_revision

blp = Blueprint("operations", __name__, description="Operations")

READINESS_TIMEOUT_SECONDS = 2


class ReadinessCheck:
    """The database check behind ``/readyz``, answered within ``READINESS_TIMEOUT_SECONDS`` whatever the
    database does.

    A blocking psycopg call cannot be abandoned by the thread that made it, so the check runs on a thread
    of its own and the probe waits for its result at most 2 seconds. While a check is still running (the
    database frozen or unreachable), later probes wait for that same check rather than start another: a
    stuck database holds one thread per process, not one per probe. Until the schema first matches
    (:class:`SchemaGate`), each check reads the Alembic revision; after that, only ``SELECT 1``.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.schema_gate = SchemaGate()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness")
        self._lock = threading.Lock()
        self._running: Future[str | None] | None = None

    def unready_reason(self) -> str | None:
        """``None`` when ready; else why not, for the 503's ``detail``."""
        with self._lock:
            if self._running is None or self._running.done():
                self._running = self._executor.submit(self._check)
            running = self._running
        try:
            return running.result(timeout=READINESS_TIMEOUT_SECONDS)
        except FutureTimeout:
            return f"The database did not answer within {READINESS_TIMEOUT_SECONDS} seconds."
        except Exception:
            return "The database is not answering."

    def _check(self) -> str | None:
        with self.engine.connect() as connection:
            if self.schema_gate.passed:
                connection.execute(text("SELECT 1"))
                return None
            revision = current_revision(connection)
        return self.schema_gate.check(revision)


def init_app(app: Flask) -> None:
    """Keep the process's :class:`ReadinessCheck` on the app (after ``db.init_app``)."""
    app.extensions["shop.readiness"] = ReadinessCheck(app.extensions["shop.engine"])


@blp.get("/healthz")
@blp.response(200, HealthSchema)
def liveness() -> dict[str, str]:
    """The process is up and serving.

    Never touches the database, so a database outage restarts nothing.
    """
    return {"status": "ok"}


@blp.get("/readyz")
@blp.response(200, HealthSchema)
@blp.problem_responses(503)
def readiness() -> dict[str, str]:
    """Ready for traffic: the database answers and has this code's schema.

    503 with the reason if not, or if the database does not answer within 2 seconds.
    """
    # the rules are ReadinessCheck's, above (and shared.db.revisions's)
    check: ReadinessCheck = current_app.extensions["shop.readiness"]
    if reason := check.unready_reason():
        abort(503, reason)
    return {"status": "ok"}
