"""Request hooks (Flask's ``before_request``/``after_request``): ``X-Request-ID`` on every response, one
access log line and the request metrics per request, the body size limit for chunked bodies, refused CORS
preflights, malformed query strings, and reading what a view left of a body, so that the connection stays
usable. And one WSGI middleware: the client's address behind a trusted proxy (:class:`TrustedProxyFix`).

Bodies with a ``Content-Length`` over ``MAX_CONTENT_LENGTH`` are refused by Werkzeug.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, abort, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_shop.routing import is_preflight
from shared.config import ConfigError
from shared.http import api as http_api
from shared.http.inputs import urlencoded_fault
from shared.http.request_id import HEADER, request_id_from
from shared.observability import logs, metrics

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class TrustedProxyFix:
    """The client's address (``request.remote_addr``) from ``X-Forwarded-For``, and the scheme it used
    (``request.is_secure``, which makes the back office's cookie ``Secure``) from ``X-Forwarded-Proto``, when
    the request comes from a trusted proxy, as uvicorn does for the FastAPI app (``FORWARDED_ALLOW_IPS``:
    addresses, networks or ``*``; see :mod:`shared.config`).

    Werkzeug's ``ProxyFix`` (``x_for=1``) takes the header's last entry, the one the proxy appended; from any
    other peer the header is ignored, so a client cannot choose the address its failed logins count
    against (:mod:`shared.domain.logins`). ``ProxyFix`` alone would trust every peer.
    """

    def __init__(self, app: WSGIApplication, trusted: Collection[str]) -> None:
        self._app = app
        self._proxied = ProxyFix(app, x_for=1, x_proto=1)
        try:
            self._trusted = [ipaddress.ip_network(entry) for entry in trusted if entry != "*"]
        except ValueError as error:
            raise ConfigError(f"FORWARDED_ALLOW_IPS: {error}") from None
        self._trust_all = "*" in trusted

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self._is_trusted(environ.get("REMOTE_ADDR", "")):
            return self._proxied(environ, start_response)
        return self._app(environ, start_response)

    def _is_trusted(self, peer: str) -> bool:
        if self._trust_all:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:  # a Unix socket's peer has no address
            return False
        return any(address in network for network in self._trusted)


def assign_request_id() -> None:
    g.request_id = request_id_from(request.headers.get(HEADER))
    g.started = time.perf_counter()


def add_request_id(response: Response) -> Response:
    # after_request also runs for error responses, so problems carry the id too
    response.headers[HEADER] = g.get("request_id") or request_id_from(None)
    return response


def route_of() -> str:
    """The route template the request matched (:func:`shared.observability.metrics.route_template`);
    ``unmatched`` when none did. A 405 has matched a path, not a method: it is counted under that path's
    template, as Starlette's router does for the FastAPI app (Werkzeug leaves ``url_rule`` unset then)."""
    rule = request.url_rule
    if rule is None and isinstance(request.routing_exception, MethodNotAllowed):
        adapter = current_app.url_map.bind_to_environ(request.environ)
        for method in request.routing_exception.valid_methods or ():
            with contextlib.suppress(HTTPException):
                rule, _ = adapter.match(method=method, return_rule=True)
                break
    if rule is None:
        return metrics.UNMATCHED_ROUTE
    return metrics.route_template(rule.rule)


def log_and_count(response: Response) -> Response:
    """Log the request's access line and count it (:func:`shared.observability.logs.log_access`,
    :func:`shared.observability.metrics.observe_request`), once its response is ready. A live order socket
    is no request to count: its view returns when the socket closes, and it has its own metrics, as in the
    FastAPI app, where only HTTP passes the middleware."""
    if request.url_rule is not None and request.url_rule.websocket:
        return response
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    route = route_of()
    metrics.observe_request(method=request.method, route=route, status=response.status_code, seconds=seconds)
    logs.log_access(
        client=request.remote_addr or "-",
        method=request.method,
        path=request.path,
        route=route,
        status=response.status_code,
        seconds=seconds,
        request_id=response.headers[HEADER],
    )
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


def read_rest_of_body(response: Response) -> Response:
    """Read what the view left unread of a body within ``MAX_CONTENT_LENGTH`` (a 415 or a 401 answers
    without reading it), so that the kept-alive connection carries the next request, as uvicorn's does.
    Else gunicorn reads at most 64 KiB of it and closes the connection it has just called ``keep-alive``.
    Larger bodies are refused unread, and gunicorn.conf.py closes their connections."""
    declared = request.content_length
    if declared is not None and declared <= current_app.config["MAX_CONTENT_LENGTH"]:
        while request.stream.read(64 * 1024):  # Werkzeug's LimitedStream: up to Content-Length, no further
            pass
    return response


def refuse_disallowed_preflight() -> None:
    """400 for a CORS preflight the policy refuses, as Starlette's ``CORSMiddleware`` answers in the FastAPI
    app (flask-cors answers ``200`` and leaves out the ``Access-Control-*`` headers; browsers fail either)."""
    if not is_preflight():
        return
    failures = http_api.preflight_failures(
        origin=request.headers["Origin"],
        method=request.headers["Access-Control-Request-Method"],
        requested_headers=request.headers.get("Access-Control-Request-Headers"),
        allowed_origins=current_app.config["SHOP_SETTINGS"].cors_origins,
    )
    if failures:
        abort(400, "Disallowed CORS " + ", ".join(failures) + ".")


def check_query_string() -> None:
    """400 for a query string that is not UTF-8 once percent-decoded (Werkzeug keeps ``%FF`` as text) or
    names a parameter twice (Werkzeug takes the first, Starlette the last); on routes that exist, as the
    FastAPI app checks it."""
    if request.routing_exception is None and (fault := urlencoded_fault(request.query_string)):
        abort(400, f"The query string {fault}.")


def init_app(app: Flask) -> None:
    trusted = app.config["SHOP_SETTINGS"].forwarded_allow_ips
    app.wsgi_app = TrustedProxyFix(app.wsgi_app, trusted)  # type: ignore[method-assign]
    app.before_request(assign_request_id)
    app.before_request(refuse_disallowed_preflight)
    app.before_request(check_query_string)
    app.before_request(limit_chunked_body)
    app.after_request(read_rest_of_body)
    app.after_request(log_and_count)  # after_request functions run last-registered first: this one after
    app.after_request(add_request_id)
