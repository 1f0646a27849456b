"""Each service's /docs page works without internet: every script, stylesheet and icon it
names is served by the service itself (FastAPI's default pages load them from a CDN)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from .test_api_scopes import APPS


@pytest.mark.parametrize("service", list(APPS))
async def test_the_docs_page_and_all_it_loads_come_from_the_service(
    service: str, tmp_path: Path
) -> None:
    app = APPS[service](tmp_path)
    transport = httpx.ASGITransport(app=app)  # no network: a URL elsewhere could not load
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        page = await http.get("/docs")
        assert page.status_code == 200
        assert "SwaggerUIBundle" in page.text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page.text)
        named = [a or b for a, b in urls]
        assert len(named) >= 4, named  # script, stylesheet, icon, the OpenAPI document
        for url in named:
            assert url.startswith("/"), f"{url} is not served by the service"
            answer = await http.get(url)
            assert answer.status_code == 200, url
            assert len(answer.content) > 100, url
        assert (await http.get("/redoc")).status_code == 404  # no ReDoc without a CDN
