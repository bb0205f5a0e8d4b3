"""Operational endpoints, cross-cutting headers, CORS and the OpenAPI document."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import port_for
import psycopg
import pytest
from psycopg import sql

from contract_tests.client import Api, assert_problem, unique
from contract_tests.openapi import meaning
from contract_tests.stacks import ROOT, Deployment

SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
OPERATIONS = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/users/me"),
    ("get", "/api/v1/products"),
    ("post", "/api/v1/products"),
    ("get", "/api/v1/products/{product_id}"),
    ("patch", "/api/v1/products/{product_id}"),
    ("post", "/api/v1/orders"),
    ("get", "/api/v1/orders"),
    ("get", "/api/v1/orders/{order_id}"),
    ("post", "/api/v1/orders/{order_id}/cancel"),
}


def test_liveness_answers_ok(api: Api) -> None:
    response = api.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_answers_ok_when_the_database_does(api: Api) -> None:
    response = api.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_fails_and_liveness_holds_without_a_database(app: str, deployment: Deployment) -> None:
    if deployment.start_variant is None:
        pytest.skip("this stack cannot start an app against an unreachable database")
    closed_port = port_for.select_random()  # nothing listens here
    with deployment.start_variant(
        app, {"DATABASE_URL": f"postgresql://shop@127.0.0.1:{closed_port}/shop"}
    ) as url:
        assert_problem(httpx.get(f"{url}/readyz", timeout=10), 503)
        live = httpx.get(f"{url}/healthz", timeout=10)
        assert live.status_code == 200
        assert live.json() == {"status": "ok"}


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    """The name of a new, empty database beside the apps' own, dropped afterwards."""
    name = unique("unmigrated_")
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def test_readiness_waits_for_the_schema_and_liveness_holds(
    app: str, deployment: Deployment, database_url: str, empty_database: str
) -> None:
    if deployment.start_variant is None or deployment.app_database_url is None:
        pytest.skip("this stack cannot start an app against another database")
    app_side = _with_database(deployment.app_database_url, empty_database)
    with deployment.start_variant(app, {"DATABASE_URL": app_side}) as url:
        problem = assert_problem(httpx.get(f"{url}/readyz", timeout=10), 503)
        assert problem["detail"].startswith("The database has no schema yet"), problem
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200

        migrate_env = {**os.environ, "DATABASE_URL": _with_database(database_url, empty_database)}
        subprocess.run([sys.executable, "-m", "shared.db", "upgrade"], env=migrate_env, cwd=ROOT, check=True)
        ready = httpx.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/healthz", "/no/such/route"], ids=["found", "not-found"])
def test_every_response_gets_a_generated_request_id(api: Api, path: str) -> None:
    first, second = (api.http.get(path).headers["X-Request-ID"] for _ in range(2))
    assert SANE_REQUEST_ID.fullmatch(first)
    assert SANE_REQUEST_ID.fullmatch(second)
    assert first != second


def test_a_sane_request_id_is_echoed(api: Api) -> None:
    response = api.http.get("/api/v1/products", headers={"X-Request-ID": "trace-4b1c.9:a"})
    assert response.headers["X-Request-ID"] == "trace-4b1c.9:a"


def test_an_unsafe_request_id_is_replaced(api: Api) -> None:
    response = api.http.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["X-Request-ID"] not in ("bad id\twith spaces", "")


def test_cors_allows_a_listed_origin(api: Api) -> None:
    origin = api.deployment.cors_origin
    if origin is None:
        pytest.skip("the stack names no allowed origin (set SHOP_TEST_CORS_ORIGIN)")
    simple = api.http.get("/api/v1/products", headers={"Origin": origin})
    assert simple.headers["Access-Control-Allow-Origin"] == origin
    preflight = api.http.options(
        "/api/v1/orders",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_cors_refuses_a_preflight_it_does_not_allow(api: Api) -> None:
    """A preflight asking for another origin, method or header is a 400 problem document naming what is
    refused (Starlette's ``CORSMiddleware`` words, in both apps); a browser fails a preflight not 2xx."""
    origin = api.deployment.cors_origin
    if origin is None:
        pytest.skip("the stack names no allowed origin (set SHOP_TEST_CORS_ORIGIN)")
    refused = {
        "origin": {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        "method": {"Origin": origin, "Access-Control-Request-Method": "DELETE"},
        "headers": {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-evil",
        },
    }
    for failure, headers in refused.items():
        response = api.http.options("/api/v1/orders", headers=headers)
        problem = assert_problem(response, 400)
        assert failure in problem["detail"]


def test_cors_ignores_other_origins(api: Api) -> None:
    response = api.http.get("/api/v1/products", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_openapi_lists_every_operation(api: Api) -> None:
    document = api.http.get("/openapi.json")
    assert document.status_code == 200
    spec = document.json()
    assert spec["openapi"].startswith("3.")
    listed = {(method, path) for path, item in spec["paths"].items() for method in item if method in METHODS}
    assert listed == OPERATIONS


def test_openapi_documents_what_the_app_answers(api: Api) -> None:
    """What schemathesis found untrue: problems carry extension members (``product_id`` on
    ``insufficient-stock``); a 422 may be an operation's own problem (``unknown-product``), without
    ``errors``; an empty or endless ``Idempotency-Key`` is invalid; a PATCH member is optional, never null."""
    spec = api.http.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("ProblemDetails", "ValidationProblem"):
        assert schemas[name].get("additionalProperties", True) is not False, name
    # meaning(): flask-smorest refers to shared response components, which it resolves
    place_order = meaning(spec)["operations"]["POST /api/v1/orders"]
    choices = place_order["responses"]["422"]["content"]["application/problem+json"]["anyOf"]
    assert {"$ref": "ProblemDetails"} in choices
    key = place_order["parameters"]["header Idempotency-Key"]["schema"]
    assert key["type"] == "string"
    assert (key["minLength"], key["maxLength"]) == (1, 512)
    update = schemas["ProductUpdate"]
    assert "null" not in str(update["properties"])
    assert not update.get("required")


def test_openapi_documents_errors_as_problem_details(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    errors = 0
    for operation, said in meaning(spec)["operations"].items():  # shared response components resolved
        for status, response in said["responses"].items():
            if status.startswith(("4", "5")):
                errors += 1
                assert set(response["content"]) == {"application/problem+json"}, (operation, status)
    assert errors >= 30
    assert "HTTPValidationError" not in str(spec)


# what a docs page loads: <script src="...">, <link href="..."> (stylesheet, icon)
PAGE_ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""")
ASSET_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_interactive_docs_load_everything_from_the_app(api: Api, page: str) -> None:
    """Swagger UI and ReDoc are served by the app itself, so the pages work with no internet (the browser
    test, test_docs_in_a_browser.py, renders them)."""
    response = api.http.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
    assets = PAGE_ASSET.findall(response.text)
    assert any(asset.endswith(".js") for asset in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), f"{page} loads {asset} from elsewhere"
        served = api.http.get(asset)
        assert served.status_code == 200, asset
        media_type = served.headers["content-type"].split(";")[0]
        assert media_type == ASSET_MEDIA_TYPES[asset[asset.rindex(".") :]], asset


def test_a_missing_static_file_is_a_problem(api: Api) -> None:
    assert_problem(api.http.get("/static/swagger-ui/missing.js"), 404)
    assert_problem(api.http.get("/static/%2e%2e/pyproject.toml"), 404)


def test_operation_summaries_read_cleanly(api: Api) -> None:
    """Swagger UI and ReDoc show a summary as plain text and a description as Markdown: no line breaks
    or code markup in a summary, and no reStructuredText roles (``:class:`...` ``) in either."""
    spec = api.http.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            summary, description = operation["summary"], operation.get("description", "")
            assert summary.strip(), (method, path)
            assert "\n" not in summary, (method, path, summary)
            assert "`" not in summary, (method, path, summary)
            assert not re.search(r":[a-z]+:`", summary + description), (method, path)


def test_openapi_documents_the_bearer_token_on_protected_operations(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    ((name, scheme),) = [(n, s) for n, s in schemes.items() if s["type"] == "oauth2"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"  # /docs can log in with it
    protected = {
        (method, path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS and operation.get("security") == [{name: []}]
    }
    assert protected == {
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/users/me"),
        ("post", "/api/v1/products"),
        ("patch", "/api/v1/products/{product_id}"),
        ("post", "/api/v1/orders"),
        ("get", "/api/v1/orders"),
        ("get", "/api/v1/orders/{order_id}"),
        ("post", "/api/v1/orders/{order_id}/cancel"),
    }
