"""What every answer tells the browser: no framing (clickjacking), only the console's own
scripts and styles, no type sniffing, a same-origin Referer, and no copy kept of a page with
business data; the API docs are not served."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import client, sign_in

PAGES = ["/", "/tracklog", "/tracklog.csv", "/partners", "/partnerships", "/users", "/audit",
         "/send", "/health", "/stations"]  # fmt: skip


def _protected(headers: Any) -> None:
    policy = headers["content-security-policy"]
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "form-action 'self'",
                      "base-uri 'none'", "object-src 'none'"):  # fmt: skip
        assert directive in policy
    assert "unsafe-inline" not in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize("path", PAGES)
async def test_every_signed_in_page_is_protected_and_never_cached(app: Any, path: str) -> None:
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        answer = await http.get(path)
        assert answer.status_code == 200, answer.text
        _protected(answer.headers)
        assert answer.headers["cache-control"] == "no-store"


async def test_the_sign_in_page_a_refusal_and_the_static_files_are_protected_too(
    app: Any,
) -> None:
    async with client(app) as http:
        login = await http.get("/login")
        _protected(login.headers)
        assert login.headers["cache-control"] == "no-store"
        await sign_in(http, "viewer@example.com")
        refused = await http.get("/users")
        assert refused.status_code == 403
        _protected(refused.headers)
        script = await http.get("/static/console.js")
        _protected(script.headers)
        assert "no-store" not in script.headers.get("cache-control", "")  # cacheable


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/redoc"])
async def test_no_api_docs_for_anyone(app: Any, path: str) -> None:
    async with client(app) as http:
        assert (await http.get(path)).status_code == 404
        await sign_in(http, "admin@example.com")
        assert (await http.get(path)).status_code == 404
