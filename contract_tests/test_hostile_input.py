"""Hostile input: every request below once crashed an app (500), leaked, or got another answer from the other
app. Each must now get the answer docs/api.md gives ("Hostile input"), from both apps.

A case names what it expects: a status, and for problems the type slug (``None``: ``about:blank``) and, for a
``422``, where the error is. Bodies are raw bytes, sent exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from contract_tests.client import Api, Customer, assert_invalid, assert_problem, unique
from contract_tests.stacks import Deployment

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ORDER = b'{"items": [{"product_id": 1, "quantity": 1}]}'


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    status: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: str | None = None  # "user" or "admin"
    where: dict[str, str] = field(default_factory=dict)  # for a 422: pointer=..., parameter=... or header=...


def register_body(email: str = "", full_name: str = "Eve") -> bytes:
    """A register body with raw JSON text spliced in (``\\u0000`` stays an escape, as a client sends it)."""
    email = email or unique("hostile-") + "@example.com"
    return f'{{"email": "{email}", "password": "long enough", "full_name": "{full_name}"}}'.encode()


CASES = {
    # NUL reaches PostgreSQL, which refuses it: 422 at the member, before the database
    "nul-in-search": Case("GET", "/api/v1/products?q=a%00b", 422, where={"parameter": "q"}),
    "nul-in-form-username": Case(
        "POST", "/api/v1/auth/token", 422, b"username=%00&password=x", FORM, where={"pointer": "/username"}
    ),
    "nul-in-json-name": Case("POST", "/api/v1/auth/register", 422, register_body(full_name="a\\u0000b"),
                             JSON, where={"pointer": "/full_name"}),
    "nul-in-product-name": Case(
        "POST", "/api/v1/products", 422,
        b'{"sku": "NUL-1", "name": "x\\u0000", "price_cents": 1, "stock": 1}', JSON, "admin",
        where={"pointer": "/name"},
    ),
    # not I-JSON (RFC 7493): malformed JSON, 400
    "deep-nesting": Case("POST", "/api/v1/auth/register", 400, b"[" * 100_000, JSON),
    "huge-integer": Case(
        "POST", "/api/v1/orders", 400, b'{"items": [{"product_id": ' + b"1" * 5000 + b', "quantity": 1}]}',
        JSON, "user",
    ),
    "lone-surrogate": Case("POST", "/api/v1/auth/register", 400, register_body(full_name="\\ud800"), JSON),
    "lone-surrogate-in-a-name": Case("POST", "/api/v1/orders", 400, b'{"\\udc00": 1}', JSON, "user"),
    "noncharacter": Case("POST", "/api/v1/auth/register", 400, register_body(full_name="\\uffff"), JSON),
    "duplicate-member": Case(
        "POST", "/api/v1/orders", 400, b'{"items": [{"product_id": 1, "quantity": 1, "quantity": 2}]}',
        JSON, "user",
    ),
    "nan": Case("POST", "/api/v1/orders", 400, b'{"items": [{"product_id": 1, "quantity": NaN}]}', JSON),
    "byte-order-mark": Case("POST", "/api/v1/auth/register", 400, b"\xef\xbb\xbf" + register_body(), JSON),
    "utf-16": Case(
        "POST", "/api/v1/auth/register", 400, register_body().decode().encode("utf-16"),
        {"Content-Type": "application/json; charset=utf-16"},
    ),
    "invalid-utf-8-json": Case("POST", "/api/v1/auth/register", 400, b'{"email": "\xff@x.example"}', JSON),
    # forms and query strings are UTF-8, also once percent-decoded ...
    "invalid-utf-8-form": Case("POST", "/api/v1/auth/token", 400, b"username=\xff&password=x", FORM),
    "percent-encoded-invalid-utf-8-form": Case(
        "POST", "/api/v1/auth/token", 400, b"username=%ff&password=x", FORM
    ),
    "invalid-utf-8-form-in-upper-case": Case(  # media types are case-insensitive (RFC 9110 §8.3.1)
        "POST", "/api/v1/auth/token", 400, b"username=%ff&password=x",
        {"Content-Type": "Application/X-WWW-Form-Urlencoded"},
    ),
    "invalid-utf-8-query": Case("GET", "/api/v1/products?q=%ff", 400),
    # ... and name each parameter once (Starlette would take the last value, Werkzeug the first)
    "repeated-query-parameter": Case("GET", "/api/v1/products?limit=5&limit=6", 400),
    "repeated-form-field": Case("POST", "/api/v1/auth/token", 400, b"username=a&username=b&password=x", FORM),
    # ids: ASCII digits naming 1..2^31-1, else 404
    "id-with-plus": Case("GET", "/api/v1/products/+1", 404),
    "id-with-point": Case("GET", "/api/v1/products/1.0", 404),
    "id-with-underscore": Case("GET", "/api/v1/products/1_0", 404),
    "id-in-arabic-indic-digits": Case("GET", "/api/v1/products/%D9%A1", 404),
    "id-zero-on-patch": Case("PATCH", "/api/v1/products/0", 404, b"{}", JSON, "admin"),
    "id-too-large-on-patch": Case("PATCH", "/api/v1/products/2147483648", 404, b"{}", JSON, "admin"),
    "id-not-a-number-on-cancel": Case("POST", "/api/v1/orders/abc/cancel", 404, auth="user"),
    # ... found by the differential test: the path is read before the token
    "id-zero-without-token": Case("PATCH", "/api/v1/products/0", 404, b"{}", JSON),
    "id-a-space-without-token": Case("PATCH", "/api/v1/products/%20", 404, b"{}", JSON),
    # numbers in a query: ASCII digits, else 422 at the parameter
    "limit-with-point": Case("GET", "/api/v1/products?limit=1.0", 422, where={"parameter": "limit"}),
    "limit-in-full-width-digits": Case(
        "GET", "/api/v1/products?limit=%EF%BC%95", 422, where={"parameter": "limit"}
    ),
    "limit-with-plus": Case("GET", "/api/v1/products?limit=%2B5", 422, where={"parameter": "limit"}),
    "limit-with-underscore": Case("GET", "/api/v1/products?limit=1_0", 422, where={"parameter": "limit"}),
    # Authorization: exactly one "Bearer <b64token>" (RFC 6750 §2.1); see test_authorization_is_read_strictly
    "bearer-with-tab": Case("GET", "/api/v1/users/me", 401, headers={"Authorization": "Bearer\tabc"}),
    "bearer-list": Case("GET", "/api/v1/users/me", 401, headers={"Authorization": "Bearer abc, Basic def"}),
    # URLs are matched as written: no slash merging, no trailing-slash redirect
    "trailing-slash": Case("GET", "/api/v1/products/", 404),
    "trailing-slash-after-id": Case("GET", "/api/v1/products/1/", 404),
    "double-slash": Case("GET", "/api/v1//products", 404),
    # precedence: media type and syntax (415, 400) before the token (401), the token before validation (422)
    "bad-json-without-token": Case("POST", "/api/v1/orders", 400, b"{bad", JSON),
    "wrong-type-without-token": Case("POST", "/api/v1/orders", 415, ORDER, {"Content-Type": "text/plain"}),
    "invalid-body-without-token": Case("POST", "/api/v1/orders", 401, b"{}", JSON),
    # found by the differential test: a body of another media type is a 415, whatever it holds
    "form-with-invalid-utf-8-on-a-json-route": Case("POST", "/api/v1/auth/register", 415, b"%AA", FORM),
    "multipart-without-boundary-on-the-form-route": Case(
        "POST", "/api/v1/auth/token", 415, b"username=", {"Content-Type": "multipart/form-data; boundary=x"}
    ),
    # ... an empty form field is a missing one; a wrong-typed PATCH member is one error at that member
    "empty-username": Case("POST", "/api/v1/auth/token", 422, b"username=&password=x", FORM,
                           where={"pointer": "/username"}),
    "empty-grant-type-no-password": Case("POST", "/api/v1/auth/token", 422, b"grant_type=&username=a",
                                         FORM, where={"pointer": "/password"}),
    "patch-name-of-the-wrong-type": Case("PATCH", "/api/v1/products/1", 422, b'{"name": []}', JSON, "admin",
                                         where={"pointer": "/name"}),
    # CORS: a preflight the policy refuses is a 400 problem document in both apps
    "preflight-from-another-origin": Case(
        "OPTIONS", "/api/v1/orders", 400,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hostile_request_gets_the_documented_answer(
    api: Api, case: Case, request: pytest.FixtureRequest
) -> None:
    headers = dict(case.headers)
    if case.auth == "user":  # registered only where needed: each registration costs an argon2 hash
        customer: Customer = request.getfixturevalue("customer")
        headers.update(customer.auth)
    elif case.auth == "admin":
        headers.update(api.admin)
    response = api.http.request(case.method, case.path, content=case.body, headers=headers)
    if case.status == 422:
        assert_invalid(response, **case.where)
    else:
        assert_problem(response, case.status)


def test_a_nul_in_the_password_is_refused_everywhere(api: Api) -> None:
    body = register_body().replace(b"long enough", b"long\\u0000enough")
    response = api.http.post("/api/v1/auth/register", content=body, headers=JSON)
    assert_invalid(response, pointer="/password")


def test_authorization_is_read_strictly(api: Api, customer: Customer) -> None:
    """RFC 6750 §2.1: ``"Bearer" 1*SP b64token``, the scheme in any letter case (RFC 9110 §11.1)."""
    token = customer.token
    for accepted in (f"Bearer {token}", f"bearer {token}", f"BEARER  {token}"):
        assert api.http.get("/api/v1/users/me", headers={"Authorization": accepted}).status_code == 200
    not_a_b64token = {"Authorization": f"Bearer {token}!"}
    assert_problem(api.http.get("/api/v1/users/me", headers=not_a_b64token), 401)


def test_a_repeated_authorization_is_refused(
    api: Api, app: str, deployment: Deployment, customer: Customer
) -> None:
    """A second ``Authorization`` line makes the credentials ambiguous (a singleton field, RFC 9110 §5.3).
    (A proxy may refuse it first: nginx answers 400.)"""
    deployment.skip_if_proxied(app)
    twice = [("Authorization", f"Bearer {customer.token}"), ("Authorization", f"Bearer {customer.token}")]
    assert_problem(api.http.get("/api/v1/users/me", headers=twice), 401)


def test_head_is_served_wherever_get_is(api: Api) -> None:
    """RFC 9110 §9.1: a general-purpose server supports HEAD; the headers are those of the GET."""
    for path in ("/healthz", "/api/v1/products", "/api/v1/products/1"):
        get, head = api.http.get(path), api.http.head(path)
        assert head.status_code == get.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]


def test_options_answers_what_is_allowed(api: Api) -> None:
    """RFC 9110 §9.3.7: OPTIONS that is not a CORS preflight is 204 with ``Allow``, the same list as a 405."""
    response = api.http.options("/api/v1/products")
    assert response.status_code == 204
    assert response.content == b""
    allowed = {"GET", "HEAD", "OPTIONS", "POST"}  # in any order (RFC 9110 §10.2.1)
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    refused = api.http.delete("/api/v1/products")
    assert {m.strip() for m in refused.headers["Allow"].split(",")} == allowed
    assert_problem(api.http.options("/api/v1/no-such-thing"), 404)


def test_token_responses_are_not_cached(api: Api, customer: Customer) -> None:
    """RFC 6749 §5.1: a response with a token carries ``Cache-Control: no-store``."""
    response = api.token(customer.email, customer.password, expect=200)
    assert response.headers["Cache-Control"] == "no-store"
