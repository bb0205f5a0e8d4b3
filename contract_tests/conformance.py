"""Every answer the suite gets is checked against the OpenAPI document of the app that sent it (openapi-core).

:class:`Conformance` is an ``httpx`` response hook on each :class:`~contract_tests.client.Api`'s client: for a
request to one of the document's operations, the status must be one the operation documents, with a media
type and body its schema allows and the headers it declares. A document that says less than the app does,
or something else, so fails the test whose request showed it. Requests to no operation (an unknown path, a
method a path does not have: 404 and 405, or ``OPTIONS``) are not the document's to describe, and are not
checked; nor are ``/openapi.json`` and the other paths the documents leave out on purpose.
"""

from __future__ import annotations

import json
from functools import cached_property
from urllib.parse import parse_qsl, urlsplit

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.exceptions import OpenAPIError
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict


class NonConformingResponse(AssertionError):
    """The app answered what its own OpenAPI document does not allow."""


class Conformance:
    """The response hook for one app; it reads the app's document on first use."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.checked = 0

    @cached_property
    def openapi(self) -> OpenAPI:
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            document = http.get("/openapi.json").raise_for_status().json()
        # openapi-core reads only application/json as JSON; a problem document is JSON too (RFC 9457 §3)
        config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
        return OpenAPI.from_dict(document, config=config)

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        try:
            self.openapi.validate_response(_Request(response.request), _Response(response))
        except (PathNotFound, OperationNotFound):
            return  # no operation of the document: not its to describe
        except OpenAPIError as error:
            request = response.request
            details = "; ".join(str(cause) for cause in _causes(error))
            raise NonConformingResponse(
                f"{request.method} {request.url.raw_path.decode()} answered {response.status_code}, which "
                f"the app's OpenAPI document does not allow: {details}\nbody: {response.text[:500]}"
            ) from error
        self.checked += 1


def _causes(error: BaseException) -> list[BaseException]:
    found = [error]
    for inner in getattr(error, "schema_errors", None) or ():
        found.append(inner)
    if error.__cause__ is not None:
        found.extend(_causes(error.__cause__))
    return found


def checked_client(
    base_url: str, *, timeout: float = 30, conformance: Conformance | None = None
) -> httpx.Client:
    """An ``httpx.Client`` on ``base_url`` whose every answer is checked (by ``conformance``, or a new
    :class:`Conformance` for that URL): what every client of the suite is."""
    check = conformance or Conformance(base_url)
    return httpx.Client(base_url=base_url, timeout=timeout, event_hooks={"response": [check]})


class _Request:
    """An ``httpx.Request`` as openapi-core reads a request (its ``Request`` protocol)."""

    def __init__(self, request: httpx.Request) -> None:
        self.request = request
        url = urlsplit(str(request.url))
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = url.path
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(url.query, keep_blank_values=True)),
            header=Headers(list(request.headers.multi_items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def method(self) -> str:
        return self.request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self.request.content or None

    @property
    def content_type(self) -> str:
        return str(self.request.headers.get("Content-Type", ""))


class _Response:
    """An ``httpx.Response`` as openapi-core reads a response."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    @property
    def data(self) -> bytes:
        return self.response.content

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def content_type(self) -> str:
        return str(self.response.headers.get("Content-Type", ""))

    @property
    def headers(self) -> Headers:
        return Headers(list(self.response.headers.multi_items()))
