"""flask-smorest, set up for this contract: the ``Api`` extension, the ``Blueprint`` to use, the body parser.

- :class:`ShopApi` documents every error status as ``application/problem+json``, and the bearer token
  scheme. flask-smorest registers one response component per HTTP status (``NOT_FOUND``,
  ``UNPROCESSABLE_ENTITY``, ...) that ``@arguments`` and ``problem_responses`` refer to; ours describe
  problem documents instead of flask-smorest's own error body.
- :class:`Blueprint` parses bodies with :class:`BodyParser`: webargs ignores a body that is not JSON and reads
  an empty one as ``{}``, where the contract wants ``415`` and "not a JSON object" (pointer ``""``).
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any, TypeVar

import flask
import flask_smorest
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser, is_json_request

from flask_shop.schemas import ProblemDetailsSchema, ValidationProblemSchema
from shared.problems import MEDIA_TYPE

F = TypeVar("F", bound=Callable[..., Any])
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
BEARER_SCHEME = "OAuth2PasswordBearer"  # FastAPI's name for the same scheme, so both documents match


class ShopApi(flask_smorest.Api):  # type: ignore[misc]
    ERROR_SCHEMA = ProblemDetailsSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # document each operation's real errors, not a catch-all

    def init_app(self, app: flask.Flask, **kwargs: Any) -> None:
        super().init_app(app, **kwargs)
        # the OAuth2 password flow, so that /docs can log in ("Authorize") and call protected operations
        password_flow = {"tokenUrl": "/api/v1/auth/token", "scopes": {}}
        self.spec.components.security_scheme(
            BEARER_SCHEME, {"type": "oauth2", "flows": {"password": password_flow}}
        )

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            if status < 400:
                continue
            schema = ValidationProblemSchema if status == 422 else ProblemDetailsSchema
            response: dict[str, Any] = {"description": status.phrase, "schema": schema}
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)


class BodyParser(FlaskParser):
    """webargs' Flask parser with the contract's media-type rules (415) and empty-body handling."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            flask.abort(415, "Send the body as application/json.")
        data = req.get_data(cache=True)
        # an empty body is no JSON object: None makes the schema report it at pointer ""
        return super()._raw_load_json(req) if data else None

    def load_form(self, req: flask.Request, schema: Any) -> Any:
        if req.mimetype != FORM_MEDIA_TYPE:
            flask.abort(415, f"Send the body as {FORM_MEDIA_TYPE}.")
        return super().load_form(req, schema)


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
