"""Every error as an RFC 9457 problem document: the one place that maps exceptions to HTTP.

Flask's defaults are HTML pages. These handlers cover domain exceptions (via :mod:`shared.http.problems`),
every Werkzeug HTTP error (404 for unknown routes, 405 with ``Allow``, 400 malformed JSON, 413, 415, 401,
403), webargs validation errors (422, marshmallow messages flattened into JSON Pointers), a database or
resource that is unavailable right now (503 with ``Retry-After``, see :mod:`shared.unavailable`) and
anything unhandled (500, logged, no trace to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from shared.domain.exceptions import DomainError
from shared.http.problems import (
    MEDIA_TYPE,
    Problem,
    domain_problem,
    http_problem,
    json_pointer,
    unavailable_problem_for,
    validation_problem,
)
from shared.unavailable import ServiceUnavailable

log = logging.getLogger("shop.errors")

# webargs location -> how the contract names a place in the request
_LOCATIONS = {"json": "pointer", "form": "pointer", "query": "parameter", "headers": "header"}


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> Response:
    response = jsonify(problem.to_dict())
    response.status_code = problem.status
    response.mimetype = MEDIA_TYPE
    response.headers.update({**problem.headers, **(headers or {})})
    return response


def handle_domain_error(exc: DomainError) -> Response:
    return problem_response(domain_problem(exc))


def handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    messages = getattr(exc, "data", {}).get("messages")
    if status == 422 and messages is not None:  # raised by webargs/flask-smorest with marshmallow messages
        return problem_response(validation_problem(_invalid_members(messages)))
    if status == 400 and messages is not None:  # webargs could not decode the JSON body
        return problem_response(http_problem(400, "The request body is not valid JSON."))
    # Werkzeug's default descriptions are generic paragraphs; ours (abort(415, "...")) are worth passing on
    detail = exc.description if exc.description != type(exc).description else None
    # get_headers() carries Allow on 405 and WWW-Authenticate where set; drop its text/html Content-Type
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return problem_response(http_problem(status, detail), headers)


def handle_unavailable(exc: Exception) -> Response:
    """503 with ``Retry-After`` for a database or resource that is unavailable right now, logged as one
    warning line; any other database error is a 500 (:func:`handle_unexpected`)."""
    problem = unavailable_problem_for(exc, method=request.method, path=request.path)
    if problem is None:
        return handle_unexpected(exc)
    return problem_response(problem)


def handle_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem_response(http_problem(500, "Something went wrong on our side."))


def init_app(app: Flask) -> None:
    """Register the handlers above on ``app`` (after flask-smorest, whose own handler they replace)."""
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(SQLAlchemyError, handle_unavailable)  # psycopg's errors arrive wrapped
    app.register_error_handler(ServiceUnavailable, handle_unavailable)
    app.register_error_handler(Exception, handle_unexpected)


def _invalid_members(messages: Mapping[str, Any]) -> list[dict[str, str]]:
    """webargs messages, ``{"json": {"items": {0: {"quantity": ["..."]}}}}``, as ``{pointer, detail}``."""
    members = []
    for location, tree in messages.items():
        kind = _LOCATIONS.get(location, "pointer")
        for path, detail in _leaves(tree, ()):
            if kind == "pointer":
                # "_schema" is marshmallow's name for the whole object
                pointer = json_pointer(p for p in path if p != "_schema")
                members.append({"pointer": pointer, "detail": detail})
            else:
                members.append({kind: str(path[0]), "detail": detail})
    return members


def _leaves(tree: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    if isinstance(tree, Mapping):
        return [leaf for key, sub in tree.items() for leaf in _leaves(sub, (*path, key))]
    if isinstance(tree, list) and all(isinstance(item, str) for item in tree):
        return [(path, " ".join(tree))]
    return [(path, str(tree))]
