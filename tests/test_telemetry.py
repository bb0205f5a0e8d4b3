"""OpenTelemetry (``shared/observability/tracing.py``): with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, each app
under its real server sends one trace per request over OTLP, from the server span down to each SQL statement
and on into the order's confirmation, continuing the caller's ``traceparent`` and without the secrets a client
put in a query string; without it, nothing of the SDK is loaded."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from contract_tests.stacks import TARGETS
from contract_tests.stacks.local import AppServers
from shared.config import ConfigError
from shared.observability import redaction, tracing
from tests.project_files import ROOT

PASSWORD = "trace-test password 42"
SERVICE_NAMES = {"fastapi": "shop-fastapi", "flask": "shop-flask"}


class Collector:
    """An OTLP/HTTP trace receiver on 127.0.0.1: keeps every span it is sent, as a plain dict."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = ExportTraceServiceRequest()
                request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
                with collector.lock:
                    for resource_spans in request.resource_spans:
                        service = _attributes(resource_spans.resource.attributes)["service.name"]
                        for scope_spans in resource_spans.scope_spans:
                            collector.spans += [_span(span, service) for span in scope_spans.spans]
                body = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def trace(self, trace_id_hex: str, *, until: Any, timeout: float = 10) -> list[dict[str, Any]]:
        """The spans of one trace, once ``until(spans)`` holds; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                spans = [s for s in self.spans if s["trace_id"] == trace_id_hex]
            if until(spans):
                return spans
            if time.monotonic() > deadline:
                pytest.fail(
                    f"trace {trace_id_hex} incomplete after {timeout} s: {[s['name'] for s in spans]}"
                )
            time.sleep(0.05)


def _attributes(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    return {a.key: getattr(a.value, a.value.WhichOneof("value") or "string_value") for a in attributes}


def _span(span: Span, service: str) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "name": span.name,
        "kind": Span.SpanKind.Name(span.kind),
        "attributes": _attributes(span.attributes),
        "service": service,
    }


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    collector = Collector()
    thread = threading.Thread(target=collector.server.serve_forever, daemon=True)
    thread.start()
    yield collector
    collector.server.shutdown()


@pytest.fixture(params=list(TARGETS))
def traced_app(
    request: pytest.FixtureRequest, collector: Collector, app_database_url: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """One app under its server, exporting to ``collector`` every 50 ms: (app, URL)."""
    env = {
        "DATABASE_URL": app_database_url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }
    with AppServers(env, tmp_path) as servers:
        yield request.param, servers.url(request.param)


def test_an_order_is_one_trace_from_the_callers_span_to_its_sql_and_its_confirmation(
    traced_app: tuple[str, str], collector: Collector, product_id: int
) -> None:
    app, url = traced_app
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = {"traceparent": f"00-{trace_id}-{parent_id}-01"}
    email = f"trace-{secrets.token_hex(6)}@example.com"
    with httpx.Client(base_url=url, timeout=10) as client:
        registered = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Trace Test"}
        )
        assert registered.status_code == 201, registered.text
        token = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        key = f"trace-key-{secrets.token_hex(8)}"  # bound to the idempotency statements, never exported
        placed = client.post(
            f"/api/v1/orders?access_token={token['access_token']}",  # a token where none belongs
            json={"items": [{"product_id": product_id, "quantity": 1}]},
            headers=auth | traceparent | {"Idempotency-Key": key},
        )
        assert placed.status_code == 201, placed.text

    def confirmed(spans: list[dict[str, Any]]) -> bool:  # the confirmation's UPDATE of the outbox row
        return any("UPDATE outbox" in str(s["attributes"].get("db.statement")) for s in spans)

    spans = collector.trace(trace_id, until=confirmed)
    (server,) = [s for s in spans if s["kind"] == "SPAN_KIND_SERVER"]
    assert server["name"] == "POST /api/v1/orders"
    assert server["service"] == SERVICE_NAMES[app]
    assert server["parent_span_id"] == parent_id
    attributes = server["attributes"]
    assert attributes["http.route"] == "/api/v1/orders"
    assert int(attributes.get("http.response.status_code") or attributes["http.status_code"]) == 201
    statements = [str(s["attributes"].get("db.statement")) for s in spans if s["kind"] == "SPAN_KIND_CLIENT"]
    assert any(statement.startswith("SELECT") and "FOR UPDATE" in statement for statement in statements)
    assert any(statement.startswith("INSERT INTO orders") for statement in statements)
    assert all(s["attributes"]["db.system"] == "postgresql" for s in spans if s["kind"] == "SPAN_KIND_CLIENT")
    assert "access_token=REDACTED" in json.dumps(spans)
    with collector.lock:  # every span this app sent: registration and login too
        exported = json.dumps(collector.spans)
    for secret in (PASSWORD, token["access_token"], key, email):
        assert secret not in exported


def test_without_an_endpoint_nothing_of_opentelemetry_is_loaded() -> None:
    script = (
        "import sys\n"
        "from fastapi_shop.main import create_app as fastapi_app\n"
        "from flask_shop import create_app as flask_app\n"
        "fastapi_app(); flask_app()\n"
        "print([m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.instrumentation',"
        " 'opentelemetry.exporter', 'shared.observability.tracing_sdk'))])\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": "postgresql://shop@127.0.0.1:1/shop",
        "SHOP_SESSION_SECRET": "unit-tests-session-secret-0123456789",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("variable", "value", "error"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf"),
        ("OTEL_TRACES_EXPORTER", "console", "OTEL_TRACES_EXPORTER must be otlp or none"),
    ],
)
def test_traces_the_apps_cannot_send_as_asked_are_a_config_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, error: str
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=error):
        tracing.tracer_provider("shop-test")


@pytest.mark.parametrize(
    ("variable", "value"), [("OTEL_SDK_DISABLED", "true"), ("OTEL_TRACES_EXPORTER", "none")]
)
def test_the_standard_switches_turn_traces_off(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv(variable, value)
    assert tracing.tracer_provider("shop-test") is None


def test_query_values_are_kept_for_the_apis_own_parameters_only() -> None:
    assert redaction.redact_query("q=beans&limit=2&offset=0") == "q=beans&limit=2&offset=0"
    assert redaction.redact_query("access_token=abc&q=x&password=p") == (
        "access_token=REDACTED&q=x&password=REDACTED"
    )
