"""The route class every router uses: bodies and query strings read by the API's rules
(:mod:`shared.http.inputs`).

FastAPI reads a JSON body with ``await request.json()``, which is :func:`json.loads`: it accepts a byte order
mark, UTF-16, ``NaN``, duplicate member names and unpaired surrogates, and lets a too-long integer or deep
nesting escape as an unexpected error. FastAPI's documented way to change how a request is read is a custom
``Request`` class handed to the endpoint by a custom ``APIRoute`` ("Custom Request and APIRoute class"):
each router is an ``APIRouter(route_class=ShopRoute)``. A body that is not I-JSON raises
:class:`json.JSONDecodeError`, which FastAPI reports as ``json_invalid`` and ``errors.py`` answers ``400``.
A query string or form that is not UTF-8, or names a parameter twice, is ``400`` too: Starlette would
quietly replace the bytes, and take the last of two values where Werkzeug takes the first.

Ids in paths are ``{name:id}``, a Starlette path convertor (like Flask's ``<id:name>`` converter): a path
whose id is not ASCII digits matches no route, and one out of range is ``404`` as the route matches, before
any dependency (authentication included) runs. As a ``Path(ge=1)`` parameter it would be checked after them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from starlette._utils import AwaitableOrContextManager, AwaitableOrContextManagerWrapper
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData

from fastapi_shop.content_types import media_type
from shared.domain.limits import MAX_DB_ID
from shared.http.api import FORM_MEDIA_TYPE
from shared.http.inputs import parse_json_body, urlencoded_fault


class IdConvertor(Convertor[int]):
    """``{name:id}``: a database id, ASCII digits from 1 to ``MAX_DB_ID``; anything else is 404."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_DB_ID:
            raise HTTPException(404)  # raised while routing: the app's handlers answer it
        return number

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())


class ShopRequest(Request):
    """A request whose :meth:`json` is :func:`shared.http.inputs.parse_json_body` and whose :meth:`form`
    refuses a form body that is not UTF-8 or names a field twice."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body())
        return self._json

    def form(self, **limits: Any) -> AwaitableOrContextManager[FormData]:
        # the same return type as Starlette's own (awaited, or used with "async with")
        return AwaitableOrContextManagerWrapper(self._checked_form(**limits))

    async def _checked_form(self, **limits: Any) -> FormData:
        # FastAPI parses a form route's body before any dependency runs: a body of another media type is
        # left unparsed (an empty form), so that RequireForm answers 415, as Flask's @require_form does,
        # where parsing it would be a 400 (a multipart body without its boundary, say)
        if media_type(self) != FORM_MEDIA_TYPE:
            return FormData()
        # the body is read once and kept: the form parser reads the same bytes
        if fault := urlencoded_fault(await self.body()):
            raise HTTPException(400, f"The form {fault}.")
        return await super().form(**limits)

    def check_query_string(self) -> None:
        """400 unless the query string is UTF-8 and names each parameter once."""
        if fault := urlencoded_fault(self.scope["query_string"]):
            raise HTTPException(400, f"The query string {fault}.")


class ShopRoute(APIRoute):
    """An ``APIRoute`` whose endpoint reads the request as a :class:`ShopRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle_as_shop_request(request: Request) -> Response:
            shop_request = ShopRequest(request.scope, request.receive)
            shop_request.check_query_string()
            return await handler(shop_request)

        return handle_as_shop_request
