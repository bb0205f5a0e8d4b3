"""The FastAPI application factory: ``uvicorn --factory fastapi_shop.main:create_app``.

:func:`create_app` builds an app from settings (default: the environment, see :mod:`shared.config`); the
lifespan owns the engine, the outbox relay task and the live order sockets' listener. uvicorn calls the
factory in the process that serves, as gunicorn calls ``flask_shop:create_app()``, so importing this module
creates nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from pydantic.json_schema import models_json_schema

from fastapi_shop import admin, auth, docs, health, metrics, order_events, orders, outbox, products
from fastapi_shop.db import PoolQueue, create_engine, create_sessionmaker
from fastapi_shop.errors import EXCEPTION_HANDLERS
from fastapi_shop.middleware import (
    BodySizeLimitMiddleware,
    HeadMiddleware,
    ProblemCORSMiddleware,
    RequestContextMiddleware,
)
from fastapi_shop.passwords import PasswordHashing
from fastapi_shop.schemas import ProblemDetails, ValidationProblem
from shared.config import Settings
from shared.db.revisions import SchemaGate
from shared.http import api as http_api
from shared.mailer import LoggingMailer, Mailer
from shared.observability import logs, tracing


def create_app(settings: Settings | None = None, mailer: Mailer | None = None) -> FastAPI:
    """Build the app. ``mailer`` sends order confirmations (default: :class:`LoggingMailer`)."""
    settings = settings or Settings.from_env()
    logs.configure(level=settings.log_level, log_format=settings.log_format)
    mailer = mailer or LoggingMailer()
    provider = tracing.tracer_provider("shop-fastapi")  # None unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    # created with the app (it connects on first use), because SQLAdmin takes it as the admin is mounted; the
    # lifespan disposes of it, so an app started again (tests) starts with a new pool in its new event loop
    engine = create_engine(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # read by the typed dependencies in fastapi_shop.resources, and only there
        if provider is not None:
            tracing.trace_engine(engine.sync_engine, provider)
            tracing.start_export(provider)
        app.state.engine = engine
        app.state.sessionmaker = sessionmaker = create_sessionmaker(engine)
        app.state.pool_queue = PoolQueue(settings)
        app.state.schema_gate = SchemaGate()
        app.state.order_event_hub = hub = order_events.OrderEventHub(settings.max_sockets_per_worker)
        tasks = [
            asyncio.create_task(
                outbox.run_relay(
                    sessionmaker=sessionmaker, mailer=mailer, interval_seconds=settings.outbox_relay_seconds
                )
            )
        ]
        if hub.max_sockets:  # 0: this server serves no sockets, and needs no LISTEN connection
            listener = order_events.listen(hub=hub, settings=settings, sessionmaker=sessionmaker)
            tasks.append(asyncio.create_task(listener))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await engine.dispose()
            if provider is not None:
                provider.shutdown()  # sends the spans still queued

    app = FastAPI(
        title="shop (FastAPI)",
        version=http_api.VERSION,
        description=http_api.DESCRIPTION,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        redirect_slashes=False,  # /products/ is 404, as in the Flask app; a redirect would drop a POST body
        docs_url=None,  # /docs and /redoc come from fastapi_shop.docs, with scripts served from /static
        redoc_url=None,
        # operationId: the route function's name (place_order), as in the Flask app, rather than FastAPI's
        # unique but unwieldy default (place_order_api_v1_orders_post): generated clients name methods by it
        generate_unique_id_function=lambda route: route.name,
        # FastAPI's own OpenTelemetry: request spans to the app's provider when tracing is on, exported as
        # the lifespan says (no auto_configure, which would add an exporter of its own); metrics are
        # Prometheus's (/metrics), and logs go to stderr
        telemetry={
            "tracing": provider is not None,
            "tracer_provider": provider,
            "metrics": False,
            "logs": False,
            "auto_configure": False,
        },
    )
    app.state.settings = settings
    app.state.mailer = mailer
    app.state.password_hashing = passwords = PasswordHashing(settings.password_hash_concurrency)
    # the last added runs first: request context, CORS (so that a 413 carries its headers too), body size
    # limit, HEAD as GET, then the routes
    app.add_middleware(HeadMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=http_api.MAX_BODY_BYTES)
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=http_api.CORS_METHODS,
        allow_headers=http_api.CORS_ALLOW_HEADERS,
        expose_headers=http_api.CORS_EXPOSE_HEADERS,
        max_age=http_api.CORS_MAX_AGE_SECONDS,
    )
    app.add_middleware(RequestContextMiddleware)  # outermost: every response gets X-Request-ID
    routers = (health.router, auth.router, products.router, orders.router, docs.router, metrics.router)
    for router in (*routers, order_events.router):  # the socket is no HTTP operation: outside the document
        app.include_router(router)
    app.mount(http_api.STATIC_URL_PATH, StaticFiles(directory=http_api.STATIC_DIR), name="static")
    admin.init_app(app, engine=engine, settings=settings, passwords=passwords)  # /admin, outside the document
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with problem+json schemas instead of its default ``HTTPValidationError``.

    Routes document their errors with :func:`errors.problem_responses`; FastAPI still adds a default 422 to
    routes whose only parameters are path ids, which answer 404 instead, so those entries are dropped.
    """
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for operations in schema["paths"].values():
        for operation in operations.values():
            default_422 = operation["responses"].get("422", {})
            if "HTTPValidationError" in str(default_422):
                del operation["responses"]["422"]
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    _, problem_schemas = models_json_schema(
        [(ProblemDetails, "serialization"), (ValidationProblem, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    components.update(problem_schemas["$defs"])
    app.openapi_schema = schema
    return schema
