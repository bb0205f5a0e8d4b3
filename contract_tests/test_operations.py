"""Operational endpoints, cross-cutting headers, CORS and the OpenAPI document."""

from __future__ import annotations

import re

import httpx
import port_for
import pytest

from contract_tests.client import Api, assert_problem
from contract_tests.stacks import Deployment

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


def test_every_response_gets_a_generated_request_id(api: Api) -> None:
    for response in (api.http.get("/healthz"), api.http.get("/no/such/route")):
        assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", response.headers["X-Request-ID"])
    assert (
        api.http.get("/healthz").headers["X-Request-ID"] != api.http.get("/healthz").headers["X-Request-ID"]
    )


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


def test_openapi_documents_errors_as_problem_details(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    errors = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:  # path-level "parameters"
                continue
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    errors += 1
                    if "$ref" in response:  # "#/components/responses/NOT_FOUND"
                        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                    assert set(response["content"]) == {"application/problem+json"}, (method, path, status)
    assert errors >= 30
    assert "HTTPValidationError" not in str(spec)


def test_interactive_docs_are_served(api: Api) -> None:
    response = api.http.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "openapi.json" in response.text


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
