"""Request hooks (Flask's ``before_request``/``after_request``): ``X-Request-ID`` on every response, and
the body size limit for chunked bodies.

The one log line per request is gunicorn's access log, which prints the response's ``X-Request-ID`` (see
``gunicorn.conf.py``). Bodies with a ``Content-Length`` over ``MAX_CONTENT_LENGTH`` are refused by Werkzeug.
"""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, g, request

from shared.request_id import HEADER, request_id_from


def assign_request_id() -> None:
    g.request_id = request_id_from(request.headers.get(HEADER))


def add_request_id(response: Response) -> Response:
    # after_request also runs for error responses, so problems carry the id too
    response.headers[HEADER] = g.get("request_id") or request_id_from(None)
    return response


def limit_chunked_body() -> None:
    """413 for a chunked body over ``MAX_CONTENT_LENGTH``.

    Werkzeug reads such a body up to the limit and then stops without an error (``LimitedStream.readall``
    never reads past the limit), so the view would see a truncated body. Read it here (cached for the view)
    and look one byte further on the server's input stream.
    """
    if request.content_length is not None or "chunked" not in request.headers.get("Transfer-Encoding", ""):
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if len(request.get_data(cache=True)) >= limit and request.environ["wsgi.input"].read(1):
        abort(413, f"The request body is larger than {limit} bytes.")


def init_app(app: Flask) -> None:
    app.before_request(assign_request_id)
    app.before_request(limit_chunked_body)
    app.after_request(add_request_id)
