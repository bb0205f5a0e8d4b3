"""Request guards shared by the routers: content-type checks.

FastAPI parses a JSON body only when the request says it is JSON and otherwise hands the raw bytes to
validation; the contract wants ``415 Unsupported Media Type`` instead, so body-taking routes declare
``dependencies=[RequireJSON]`` (or ``RequireForm``). Dependencies run before body validation.
"""

from __future__ import annotations

from email.message import Message

from fastapi import Depends, HTTPException, Request

from shared.http.api import FORM_MEDIA_TYPE


def media_type(request: Request) -> str | None:
    """The request's media type, lower-cased and without parameters (``application/json``); None if unsent."""
    raw = request.headers.get("content-type")
    if not raw:
        return None
    message = Message()
    message["content-type"] = raw
    return message.get_content_type()


async def require_json(request: Request) -> None:
    """Raise 415 unless the body is ``application/json`` (or ``application/*+json``)."""
    sent = media_type(request) or ""
    if not (sent == "application/json" or (sent.startswith("application/") and sent.endswith("+json"))):
        raise HTTPException(415, "Send the body as application/json.")


async def require_form(request: Request) -> None:
    """Raise 415 unless the body is ``application/x-www-form-urlencoded`` (OAuth2, RFC 6749 §4.3.2)."""
    if media_type(request) != FORM_MEDIA_TYPE:
        raise HTTPException(415, f"Send the body as {FORM_MEDIA_TYPE}.")


RequireJSON = Depends(require_json)
RequireForm = Depends(require_form)
