"""URL rules: the ``<id:...>`` converter for ids in paths, no slash rewriting, and ``OPTIONS``.

- ``<id:product_id>``: ASCII digits naming an id in ``1..MAX_DB_ID``. Werkzeug's ``int`` converter matches
  ``\\d``, which includes non-ASCII digits (``/products/%D9%A1``, an Arabic-Indic one, would be product 1).
- ``merge_slashes = False``: ``/api/v1//products`` is 404, as in the FastAPI app, not a redirect.
- ``OPTIONS`` that is not a CORS preflight: Werkzeug's automatic answer, ``200`` with an empty ``text/html``
  body, becomes ``204 No Content`` with the same ``Allow`` (RFC 9110 §9.3.7).
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter

from shared.domain.limits import MAX_DB_ID


class IdConverter(BaseConverter):
    """``<id:name>``: a database id; anything else is 404."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_DB_ID:
            # not werkzeug's ValidationError: with it, a PATCH to /products/0 would fall through to the GET
            # rule of the same path and answer 405 (werkzeug reports the methods of rules that did match)
            raise NotFound()
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def options_without_content(response: Response) -> Response:
    if request.method == "OPTIONS" and response.status_code == 200 and not is_preflight():
        response.status_code = 204
        response.set_data(b"")
        del response.headers["Content-Type"]
    return response


def is_preflight() -> bool:
    """Whether the request is a CORS preflight (Fetch standard): ``OPTIONS`` with ``Origin`` and
    ``Access-Control-Request-Method``."""
    headers = request.headers
    return request.method == "OPTIONS" and "Origin" in headers and "Access-Control-Request-Method" in headers


def init_app(app: Flask) -> None:
    """Register the converter, the slash rule and the ``OPTIONS`` answer; before any blueprint adds rules."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.merge_slashes = False
    app.after_request(options_without_content)
