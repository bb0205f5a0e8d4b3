"""The Place Order API on Flask: sync SQLAlchemy on psycopg 3, marshmallow, served by gunicorn.

Entry point: ``gunicorn -c flask_shop/gunicorn.conf.py "flask_shop:create_app()"``. Creating the app starts no
thread: the outbox relay and the live order sockets' listener start in each gunicorn worker
(``gunicorn.conf.py``); the relay also runs on its own with ``flask --app flask_shop shop relay``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from flask_shop import (
    admin,
    auth,
    db,
    errors,
    health,
    metrics,
    middleware,
    orders,
    passwords,
    products,
    routing,
)
from flask_shop.content_types import JSONProvider
from flask_shop.extensions import api, confirmations, cors, order_event_hub
from shared.config import Settings
from shared.http import api as http_api
from shared.mailer import LoggingMailer
from shared.observability import logs, redaction, tracing


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides keys, e.g. ``SHOP_SETTINGS`` (a :class:`Settings`, default: from
    the environment) or ``MAILER`` (sends order confirmations, default: :class:`LoggingMailer`)."""
    # the static folder holds Swagger UI and ReDoc, so that /docs and /redoc need no CDN (shared/http/static)
    app = Flask(__name__, static_folder=http_api.STATIC_DIR, static_url_path=http_api.STATIC_URL_PATH)
    app.json = JSONProvider(app)  # request.get_json() parses I-JSON only (shared.http.inputs)
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=http_api.MAX_BODY_BYTES,
        MAILER=LoggingMailer(),
        API_TITLE="shop (Flask)",
        API_VERSION=http_api.VERSION,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=http_api.SWAGGER_UI_URL,
        OPENAPI_REDOC_PATH="redoc",
        OPENAPI_REDOC_URL=http_api.REDOC_JS_URL,
        API_SPEC_OPTIONS={"info": {"description": http_api.DESCRIPTION}},
    )
    app.config.from_mapping(config or {})
    if "SHOP_SETTINGS" not in app.config:
        app.config["SHOP_SETTINGS"] = Settings.from_env()
    settings: Settings = app.config["SHOP_SETTINGS"]
    logs.configure(level=settings.log_level, log_format=settings.log_format)
    provider = tracing.tracer_provider("shop-flask")  # None unless OTEL_EXPORTER_OTLP_ENDPOINT is set

    routing.init_app(app)  # before the blueprints add their rules
    db.init_app(app)
    if provider is not None:  # the otel extra, imported only now; gunicorn.conf.py starts the export
        from opentelemetry.instrumentation.flask import FlaskInstrumentor
        from opentelemetry.instrumentation.threading import ThreadingInstrumentor

        FlaskInstrumentor.instrument_app(  # type: ignore[no-untyped-call]
            app,
            tracer_provider=provider,
            # it records the query string again after the span started: redact it once the answer is known
            response_hook=lambda span, status, headers: redaction.redact_span_queries(span),
        )
        ThreadingInstrumentor().instrument()  # the request's trace goes on into the confirmations' pool
        tracing.trace_engine(app.extensions["shop.engine"], provider)
        app.extensions["shop.tracing"] = provider
    health.init_app(app)
    passwords.init_app(app)
    auth.init_app(app)
    middleware.init_app(app)
    cors.init_app(
        app,
        origins=list(settings.cors_origins),
        methods=list(http_api.CORS_METHODS),
        allow_headers=list(http_api.CORS_ALLOW_HEADERS),
        expose_headers=list(http_api.CORS_EXPOSE_HEADERS),
        max_age=http_api.CORS_MAX_AGE_SECONDS,
    )
    confirmations.init_app(app)
    api.init_app(app)
    for blueprint in (health.blp, auth.blp, products.blp, orders.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(metrics.bp)  # not flask-smorest's: /metrics stays out of the OpenAPI document
    order_event_hub.init_app(app)  # the live order socket: no HTTP operation, outside the document too
    admin.init_app(app)  # the back office, /admin: HTML, outside the OpenAPI document
    errors.init_app(app)  # after api.init_app: replaces flask-smorest's JSON error handler
    return app
