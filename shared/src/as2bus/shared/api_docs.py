"""The OpenAPI page (``/docs``) with Swagger UI served by the service itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they are blank on a network
without internet access. Swagger UI's files come from the ``swagger-ui-bundle`` package
(installed from the registry through uv.lock) and are served under ``/docs/assets``; ReDoc has
no such package, so ``/redoc`` is not offered.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ASSETS = "/docs/assets"


def add_offline_docs(app: FastAPI) -> None:
    """``/docs`` for an app created with ``docs_url=None, redoc_url=None``."""
    if app.openapi_url is None:
        return
    openapi_url = app.openapi_url
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
