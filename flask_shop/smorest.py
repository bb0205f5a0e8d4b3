"""flask-smorest, set up for this contract: the ``Api`` extension, the ``Blueprint`` to use, the body parser.

- :class:`ShopApi` documents every error status as ``application/problem+json``, the bearer token
  scheme, ``<id:...>`` path parameters as the integers they are, and each operation's ``operationId`` as
  its view function's name (:class:`OperationIds`), as FastAPI's are its route functions' names.
  flask-smorest registers one response component per HTTP status (``NOT_FOUND``, ``UNPROCESSABLE_ENTITY``,
  ...) that ``@arguments`` and ``problem_responses`` refer to; ours describe problem documents instead of
  flask-smorest's own error body.
- :class:`Blueprint` parses bodies with :class:`BodyParser`: webargs reads an empty body as ``{}``, where the
  contract wants "not a JSON object" (pointer ``""``), and parses JSON with :func:`json.loads`, where the API
  takes I-JSON only (Flask's ``get_json`` does, see :mod:`flask_shop.content_types`).
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any, TypeVar

import flask
import flask_smorest
from apispec import BasePlugin
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser
from werkzeug.routing import Rule

from flask_shop.routing import IdConverter
from flask_shop.schemas import ProblemDetailsSchema, ValidationProblemSchema
from shared.domain.limits import MAX_DB_ID
from shared.http import api as http_api
from shared.http.problems import MEDIA_TYPE

F = TypeVar("F", bound=Callable[..., Any])
BEARER_SCHEME = "OAuth2PasswordBearer"  # FastAPI's name for the same scheme, so both documents match


class OperationIds(BasePlugin):
    """An apispec plugin: each operation's ``operationId`` is its view function's name (``place_order``);
    generated clients name their methods by it. flask-smorest sets none, and a view may still set its own
    with ``@blp.doc(operationId=...)``."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, dict[str, Any]] | None = None, **kwargs: Any
    ) -> None:
        rule: Rule = kwargs["rule"]  # flask-smorest passes the view's rule; its endpoint is "blueprint.view"
        for operation in (operations or {}).values():
            operation.setdefault("operationId", rule.endpoint.rpartition(".")[2])


def id_parameter(converter: IdConverter) -> dict[str, Any]:
    """The schema of an ``<id:name>`` path parameter: what :class:`~flask_shop.routing.IdConverter`
    accepts."""
    return {"type": "integer", "minimum": 1, "maximum": MAX_DB_ID}


class ShopApi(flask_smorest.Api):  # type: ignore[misc]
    ERROR_SCHEMA = ProblemDetailsSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # document each operation's real errors, not a catch-all

    def __init__(self) -> None:
        super().__init__(spec_kwargs={"extra_plugins": [OperationIds()]})

    def init_app(self, app: flask.Flask, **kwargs: Any) -> None:
        super().init_app(app, **kwargs)
        self.register_converter(IdConverter, id_parameter)  # before the blueprints add their paths
        # the OAuth2 password flow, so that /docs can log in ("Authorize") and call protected operations
        password_flow = {"tokenUrl": "/api/v1/auth/token", "scopes": {}}
        self.spec.components.security_scheme(
            BEARER_SCHEME, {"type": "oauth2", "flows": {"password": password_flow}}
        )

    def _register_pagination_header(self) -> None:
        """Nothing: flask-smorest documents its own pagination (an ``X-Pagination`` header, and a
        ``PaginationMetadata`` schema) whether or not a view uses it; this API pages in the body."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            if status < 400:
                continue
            schema: Any = ProblemDetailsSchema
            if status == 422:  # validation-error, or an operation's own rule (unknown-product, ...)
                schema = {"anyOf": [ValidationProblemSchema, ProblemDetailsSchema]}
            response: dict[str, Any] = {"description": status.phrase, "schema": schema}
            if status in http_api.RESPONSE_HEADERS:
                response["headers"] = http_api.RESPONSE_HEADERS[status]
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)


class BodyParser(FlaskParser):
    """webargs' Flask parser reading JSON with ``request.get_json()``; views guard the media type first
    (``@require_json``, ``@require_form``)."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        # an empty body is no JSON object: None makes the schema report it at pointer ""
        return req.get_json() if req.get_data(cache=True) else None


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """flask-smorest's blueprint with :class:`BodyParser` and ``@blp.problem_responses(...)``."""

    ARGUMENTS_PARSER = BodyParser()

    def problem_responses(self, *statuses: int) -> Callable[[F], F]:
        """Document ``statuses`` on a view as problem documents (components :class:`ShopApi` registers)."""

        def decorate(view: F) -> F:
            for status in statuses:
                view = self.alt_response(status, response=http.HTTPStatus(status).name)(view)
            return view

        return decorate
