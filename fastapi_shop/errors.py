"""Every error as an RFC 9457 problem document: the one place that maps exceptions to HTTP.

Handlers cover domain exceptions (via :mod:`shared.http.problems`), Starlette/FastAPI HTTP errors (404 for
unknown routes and malformed path ids, 405 with ``Allow``, 413, 415, 401, 403), request validation (422 with
JSON Pointers; malformed JSON is 400), a database or resource that is unavailable right now (503 with
``Retry-After``, see :mod:`shared.unavailable`) and anything unhandled (500, no trace to the client).
``problem_responses`` documents the same errors in the OpenAPI document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from asyncpg import PostgresError
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.domain.exceptions import DomainError
from shared.http import api as http_api
from shared.http.problems import (
    MEDIA_TYPE,
    Problem,
    domain_problem,
    http_problem,
    json_pointer,
    unavailable_problem_for,
    validation_problem,
)
from shared.http.request_id import HEADER as REQUEST_ID_HEADER
from shared.unavailable import ServiceUnavailable

log = logging.getLogger("shop.errors")


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def problem_response(
    request: Request, problem: Problem, headers: dict[str, str] | None = None
) -> ProblemResponse:
    headers = {**problem.headers, **(headers or {})}
    # the request-id middleware sets this; on the 500 path we answer from outside it, so add it here
    if request_id := getattr(request.state, "request_id", None):
        headers[REQUEST_ID_HEADER] = request_id
    return ProblemResponse(problem.to_dict(), status_code=problem.status, headers=headers)


async def handle_domain_error(request: Request, exc: DomainError) -> ProblemResponse:
    return problem_response(request, domain_problem(exc))


async def handle_http_exception(request: Request, exc: StarletteHTTPException) -> Response:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
        if (
            request.method == "OPTIONS"
        ):  # no route serves OPTIONS: the answer is what is allowed (RFC 9110 §9.3.7)
            return Response(status_code=204, headers=headers)
    if exc.status_code == 413:  # a chunked body over the limit: the rest stays unread, so close
        headers["Connection"] = "close"
    # Starlette's default detail is the reason phrase ("Not Found"); ours (HTTPException(415, "...")) are kept
    detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else None
    return problem_response(request, http_problem(exc.status_code, detail), headers)


async def handle_validation_error(request: Request, exc: RequestValidationError) -> ProblemResponse:
    errors = list(exc.errors())
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(request, http_problem(400, "The request body is not valid JSON."))
    return problem_response(request, validation_problem([_invalid_member(e) for e in errors]))


async def handle_unavailable(request: Request, exc: Exception) -> ProblemResponse:
    """503 with ``Retry-After`` for a database or resource that is unavailable right now, logged as one
    warning line; any other database error is a 500 (:func:`internal_error`), logged with its traceback."""
    problem = unavailable_problem_for(exc, method=request.method, path=request.url.path)
    if problem is None:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return internal_error(request)
    return problem_response(request, problem)


async def handle_unexpected(request: Request, exc: Exception) -> ProblemResponse:
    """500 for anything else. Not logged here: Starlette hands this exception on to the server after the
    response, and uvicorn logs it ("Exception in ASGI application", with the traceback); the access log line
    carries the request id."""
    return internal_error(request)


def internal_error(request: Request) -> ProblemResponse:
    # uvicorn closes the connection after an exception that reaches it: say so
    headers = {"Connection": "close"}
    return problem_response(request, http_problem(500, "Something went wrong on our side."), headers)


# FastAPI(exception_handlers=...): each handler is typed with the exception it handles (Starlette's
# add_exception_handler types every handler as taking Exception, which would need a cast in each).
# Starlette gives the Exception handler to its outermost middleware, which then re-raises the exception to
# the server; the others run inside the app and end the exception there.
EXCEPTION_HANDLERS: dict[int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]] = {
    DomainError: handle_domain_error,
    StarletteHTTPException: handle_http_exception,
    RequestValidationError: handle_validation_error,
    # what the database drivers raise (asyncpg's own errors and OSError when it cannot connect at all)
    SQLAlchemyError: handle_unavailable,
    PostgresError: handle_unavailable,
    OSError: handle_unavailable,
    ServiceUnavailable: handle_unavailable,
    Exception: handle_unexpected,
}


def _invalid_member(error: Any) -> dict[str, str]:
    """One Pydantic error as ``{pointer|parameter|header, detail}``."""
    where, *path = error["loc"]
    # a ValueError raised by a validator: its own words, without Pydantic's "Value error, " prefix
    detail = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    if where == "query":
        return {"parameter": str(path[0]), "detail": detail}
    if where == "header":
        return {"header": str(path[0]), "detail": detail}
    return {"pointer": json_pointer(path), "detail": detail}  # the body (JSON or form)


def _allowed_methods(request: Request) -> str:
    """``Allow`` for a 405: every method some route serves at this path, with ``HEAD`` wherever ``GET`` is
    (``HeadMiddleware``) and ``OPTIONS``, as Werkzeug lists them.

    Starlette reports only the first partially matching route's methods (GET /products hides POST
    /products), so ask the router for each method instead.
    """
    allowed = ["OPTIONS"]
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        probe: dict[str, Any] = {
            "type": "http",
            "path": request.url.path,
            "root_path": "",
            "method": method,
            "headers": [],
        }
        if any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes):
            allowed.extend(("GET", "HEAD") if method == "GET" else (method,))
    return ", ".join(sorted(allowed))


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting ``statuses`` as ``application/problem+json``."""
    responses: dict[int | str, dict[str, Any]] = {}
    problem: dict[str, Any] = {"$ref": "#/components/schemas/ProblemDetails"}
    for status in statuses:
        schema = problem
        if status == 422:  # validation-error, or an operation's own rule (unknown-product, ...)
            schema = {"anyOf": [{"$ref": "#/components/schemas/ValidationProblem"}, problem]}
        responses[status] = {
            "description": http_problem(status).title,
            "content": {MEDIA_TYPE: {"schema": schema}},
        }
        if status in http_api.RESPONSE_HEADERS:
            responses[status]["headers"] = http_api.RESPONSE_HEADERS[status]
    return responses
