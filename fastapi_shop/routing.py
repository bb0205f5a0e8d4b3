"""The route class every router uses: bodies and query strings read by the API's rules (:mod:`shared.inputs`).

FastAPI reads a JSON body with ``await request.json()``, which is :func:`json.loads`: it accepts a byte order
mark, UTF-16, ``NaN``, duplicate member names and unpaired surrogates, and lets a too-long integer or deep
nesting escape as an unexpected error. FastAPI's documented way to change how a request is read is a custom
``Request`` class handed to the endpoint by a custom ``APIRoute`` ("Custom Request and APIRoute class"):
each router is an ``APIRouter(route_class=ShopRoute)``. A body that is not I-JSON raises
:class:`json.JSONDecodeError`, which FastAPI reports as ``json_invalid`` and ``errors.py`` answers ``400``.
A query string or form that is not UTF-8, or names a parameter twice, is ``400`` too: Starlette would
quietly replace the bytes, and take the last of two values where Werkzeug takes the first.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from fastapi_shop.content_types import media_type
from shared.http_api import FORM_MEDIA_TYPE
from shared.inputs import parse_json_body, urlencoded_fault


class ShopRequest(Request):
    """A request whose :meth:`json` is :func:`shared.inputs.parse_json_body`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body())
        return self._json

    async def check_urlencoded(self) -> None:
        """400 unless the query string, and a form body, are UTF-8 and name each parameter once."""
        if fault := urlencoded_fault(self.scope["query_string"]):
            raise HTTPException(400, f"The query string {fault}.")
        # the body is read once and kept: the form parser reads the same bytes
        if media_type(self) == FORM_MEDIA_TYPE and (fault := urlencoded_fault(await self.body())):
            raise HTTPException(400, f"The form {fault}.")


class ShopRoute(APIRoute):
    """An ``APIRoute`` whose endpoint reads the request as a :class:`ShopRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle_as_shop_request(request: Request) -> Response:
            shop_request = ShopRequest(request.scope, request.receive)
            await shop_request.check_urlencoded()
            return await handler(shop_request)

        return handle_as_shop_request
