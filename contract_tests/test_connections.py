"""HTTP/1.1 on one kept-alive connection, written by hand: what a pooled client (httpx) hides.

A refused request leaves its connection usable for the next request, or says ``Connection: close`` and
closes it (RFC 9110 §10.1.1, RFC 9112 §9.6). Requests the HTTP server refuses itself, before the app runs
(uvicorn for FastAPI, gunicorn for Flask), get problem documents too, within the same limits in both.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from contract_tests.client import Api
from contract_tests.stacks import Deployment
from shared.http.api import MAX_BODY_BYTES, MAX_HEADER_FIELD_BYTES, MAX_HEADER_FIELDS, MAX_REQUEST_LINE_BYTES

TIMEOUT_SECONDS = 10
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n"


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # names in lower case; the last line of a repeated field
    body: bytes

    def problem(self) -> dict[str, object]:
        assert self.headers["content-type"] == "application/problem+json", self.headers
        document: dict[str, object] = json.loads(self.body)
        assert document["status"] == self.status
        return document


class RawConnection:
    """One TCP connection to an app. Responses are read as the apps frame them (``Content-Length``)."""

    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        assert url.hostname, base_url
        assert url.port, base_url
        self.socket = socket.create_connection((url.hostname, url.port), timeout=TIMEOUT_SECONDS)
        self.reader = self.socket.makefile("rb")

    def send(self, data: bytes) -> None:
        self.socket.sendall(data)

    def response(self) -> RawResponse:
        status_line = self.reader.readline()
        assert status_line.startswith(b"HTTP/1.1 "), status_line
        headers = {}
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.reader.read(int(headers.get("content-length", "0")))
        return RawResponse(int(status_line.split()[1]), headers, body)

    def closed_by_server(self) -> bool:
        """Whether the server has closed its side: end of stream, with no bytes before it."""
        try:
            return self.reader.read(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.reader.close()
        self.socket.close()


@pytest.fixture
def connection(api: Api) -> Iterator[RawConnection]:
    raw = RawConnection(api.base_url)
    yield raw
    raw.close()


@pytest.fixture
def server_connection(app: str, deployment: Deployment, connection: RawConnection) -> RawConnection:
    """A connection to the app's own HTTP server (uvicorn, gunicorn): skipped where a proxy is in front."""
    deployment.skip_if_proxied(app)
    return connection


def post(
    path: str, content_type: str, body: bytes, *, length: int | None = None, expect: bool = False
) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: shop\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n"
        + ("Expect: 100-continue\r\n" if expect else "")
        + "\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        # a body the view never reads, larger than gunicorn's own 64 KiB drain
        (post("/api/v1/auth/register", "text/plain", b"x" * 200_000), 415),
        (post("/api/v1/orders", "application/json", b'"' + b"x" * 200_000 + b'"'), 401),
        (post("/api/v1/auth/register", "application/json", b'{"email": '), 400),
        (post("/api/v1/auth/token", "application/x-www-form-urlencoded", b"username=%FF&password=x"), 400),
    ],
    ids=["415-unread-body", "401-large-body", "400-malformed-json", "400-malformed-form"],
)
def test_a_refused_request_leaves_its_connection_usable(
    connection: RawConnection, request_bytes: bytes, status: int
) -> None:
    connection.send(request_bytes)
    refused = connection.response()
    assert refused.status == status
    assert refused.headers.get("connection", "keep-alive").lower() == "keep-alive"
    connection.send(HEALTHZ)
    assert connection.response().status == 200


def test_an_oversize_body_is_refused_before_it_is_sent(connection: RawConnection) -> None:
    # the client waits for 100 Continue before sending the body; the answer must be the 413 itself
    too_long = MAX_BODY_BYTES + 1
    connection.send(post("/api/v1/auth/register", "application/json", b"", length=too_long, expect=True))
    refused = connection.response()
    assert refused.status == 413
    assert refused.problem()["type"] == "about:blank"
    assert refused.headers["connection"].lower() == "close"
    assert connection.closed_by_server()


def test_an_oversize_body_sent_whole_is_refused_and_the_connection_closed(connection: RawConnection) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    connection.send(post("/api/v1/auth/register", "application/json", b"", length=len(body)))
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        connection.send(body)  # the server may answer and close before the whole body is sent
    refused = connection.response()
    assert refused.status == 413
    assert refused.headers["connection"].lower() == "close"
    assert connection.closed_by_server()


TARGET_AT_LIMIT = "/healthz?" + "a" * (MAX_REQUEST_LINE_BYTES - len("GET /healthz? HTTP/1.1"))


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /healthz HTTP/1.1 extra\r\nHost: shop\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: shop\r\nBad Name: x\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: shop\r\nX-Folded: a\r\n  b\r\n\r\n", 400),  # obsolete line folding
        (f"GET {TARGET_AT_LIMIT}a HTTP/1.1\r\nHost: shop\r\n\r\n".encode(), 414),
        (
            b"GET /healthz HTTP/1.1\r\n"
            + b"".join(b"X-Field-%d: x\r\n" % n for n in range(MAX_HEADER_FIELDS))
            + b"Host: shop\r\n\r\n",
            431,
        ),
        (b"GET /healthz HTTP/1.1\r\nHost: shop\r\nX-Big: " + b"x" * MAX_HEADER_FIELD_BYTES + b"\r\n\r\n", 431),  # noqa: E501
    ],
    ids=["malformed-request-line", "space-in-field-name", "obs-fold", "request-line-too-long",
         "too-many-fields", "field-too-long"],
)  # fmt: skip
def test_the_server_refuses_a_request_it_cannot_read_with_a_problem_document(
    server_connection: RawConnection, request_bytes: bytes, status: int
) -> None:
    connection = server_connection
    connection.send(request_bytes)
    refused = connection.response()
    assert refused.status == status
    assert refused.problem()["type"] == "about:blank"
    assert refused.headers["connection"].lower() == "close"
    assert connection.closed_by_server()


def test_requests_at_the_servers_limits_are_served(server_connection: RawConnection) -> None:
    connection = server_connection
    at_limit = (
        f"GET {TARGET_AT_LIMIT} HTTP/1.1\r\n".encode()
        + b"".join(b"X-Field-%d: x\r\n" % n for n in range(MAX_HEADER_FIELDS - 2))
        + b"X-Big: " + b"x" * (MAX_HEADER_FIELD_BYTES - len("X-Big: \r\n")) + b"\r\n"
        + b"Host: shop\r\n\r\n"
    )  # fmt: skip
    connection.send(at_limit)
    assert connection.response().status == 200
