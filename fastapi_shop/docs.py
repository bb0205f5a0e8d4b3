"""``/docs`` (Swagger UI) and ``/redoc``, served with their scripts from this app, not a CDN.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, and ReDoc's fonts from Google: with no internet
they render blank. FastAPI's documented fix ("Custom Docs UI Static Assets (Self-Hosting)"): create the app
with ``docs_url=None, redoc_url=None``, mount the files (``/static``, see ``main.py``), and serve the pages
with its own HTML helpers pointed at them. The files are in ``shared/http/static`` (its README.md says which
releases).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from shared.http.api import REDOC_JS_URL, STATIC_URL_PATH, SWAGGER_UI_URL

router = APIRouter(include_in_schema=False)

FAVICON_URL = f"{STATIC_URL_PATH}/swagger-ui/favicon-32x32.png"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on this app's OpenAPI document; "Authorize" logs in with the OAuth2 password flow."""
    return get_swagger_ui_html(
        openapi_url=str(request.app.openapi_url),
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{SWAGGER_UI_URL}swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI_URL}swagger-ui.css",
        swagger_favicon_url=FAVICON_URL,
        # no OAuth2 redirect page, FastAPI's default: the password flow, the only one, does not redirect
        oauth2_redirect_url=None,
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc on this app's OpenAPI document, with the browser's own fonts."""
    return get_redoc_html(
        openapi_url=str(request.app.openapi_url),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=REDOC_JS_URL,
        redoc_favicon_url=FAVICON_URL,
        with_google_fonts=False,
    )
