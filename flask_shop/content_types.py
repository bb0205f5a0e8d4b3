"""Request guards for the views that take a body, and how a JSON body is parsed.

``@require_json`` (or ``@require_form``) sits right under the route, above the auth decorator, so a body of
the wrong media type is ``415`` and one that does not parse is ``400`` before the token is checked: the
order in which the FastAPI app answers, where FastAPI reads the body before it resolves any dependency.
Bodies are read by the API's rules (:mod:`shared.http.inputs`): JSON through :class:`JSONProvider`, Flask's
hook for the JSON library it uses, so ``request.get_json()`` (and webargs, through it) parses I-JSON only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, request
from flask.json.provider import DefaultJSONProvider

from shared.http.api import FORM_MEDIA_TYPE
from shared.http.inputs import parse_json_body, urlencoded_fault

F = TypeVar("F", bound=Callable[..., Any])


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, loading with :func:`shared.http.inputs.parse_json_body` (failing: Flask's
    400)."""

    sort_keys = False  # members in schema order, as FastAPI sends them

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json_body(s.encode() if isinstance(s, str) else s)


def require_json(view: F) -> F:
    """415 unless the body is ``application/json`` (or ``application/*+json``); 400 unless it parses."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not request.is_json:
            abort(415, "Send the body as application/json.")
        if request.get_data(cache=True):  # an empty body is left to the schema: "not a JSON object"
            request.get_json()
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def require_form(view: F) -> F:
    """415 unless the body is ``application/x-www-form-urlencoded`` (OAuth2, RFC 6749 §4.3.2); 400 unless it
    is UTF-8 and names each field once (:func:`shared.http.inputs.urlencoded_fault`; Werkzeug would drop the
    whole form, keep ``%FF`` as text, take the first of two values)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if request.mimetype != FORM_MEDIA_TYPE:
            abort(415, f"Send the body as {FORM_MEDIA_TYPE}.")
        if fault := urlencoded_fault(request.get_data(cache=True)):
            abort(400, f"The form {fault}.")
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]
