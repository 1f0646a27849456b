"""The dashboard: its tab title, its latest failures (refused requests among them, as its tile
counts them) and its TrackLog links for any partner's AS2 ID."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from markupsafe import escape

from as2bus.console.domain.causes import cause_of

from .conftest import FakeTracklog, client, fakes_of, sign_in

FAILED = {"id": "m-failed", "direction": "outbound", "status": "failed", "partner": "ACME",
          "filename": "po.x12", "error_code": "attempts-exhausted",
          "updated_at": "2026-12-04T10:00:00+00:00"}  # fmt: skip
REFUSED = {"id": "m-refused", "direction": "outbound", "status": "rejected", "partner": "ACME",
           "filename": None, "request_id": "console-1", "error_code": "CERT_NOT_FOUND",
           "updated_at": "2026-12-04T11:00:00+00:00"}  # fmt: skip
DELIVERED = {"id": "m-ok", "direction": "outbound", "status": "delivered", "partner": "ACME",
             "filename": "ok.x12", "updated_at": "2026-12-04T12:00:00+00:00"}  # fmt: skip


class StatusFilteringTracklog(FakeTracklog):
    """The message list filtered by status as tracklog-svc filters it (one or several)."""

    async def get(self, path: str, params: Any = None) -> Any:
        answer = await super().get(path, params)
        if path == "/api/v1/messages" and params and "status" in params:
            wanted = params["status"]
            wanted = [wanted] if isinstance(wanted, str) else wanted
            return {**answer, "items": [m for m in answer["items"] if m["status"] in wanted]}
        return answer


async def dashboard(app: Any) -> str:
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        answer = await http.get("/")
    assert answer.status_code == 200
    return answer.text


async def test_the_tab_title_is_plain(app: Any) -> None:
    assert "<title>Dashboard · as2bus console</title>" in await dashboard(app)


async def test_latest_failures_list_refused_requests_too(app: Any) -> None:
    tracklog = StatusFilteringTracklog()
    tracklog.listed = [REFUSED, FAILED, DELIVERED]
    fakes_of(app).backends.tracklog = tracklog
    page = await dashboard(app)
    latest = page[page.index("<h2>Latest failures") :]
    latest = latest[: latest.index("</section>")]
    assert '<a href="/tracklog/m-refused">' in latest
    assert escape(cause_of("CERT_NOT_FOUND").what) in latest
    assert '<a href="/tracklog/m-failed">' in latest
    assert "m-ok" not in latest
    (asked,) = [p for path, p in tracklog.asked if path == "/api/v1/messages"]
    assert asked["sort"] == "updated_at"  # the latest by last activity, the time shown


async def test_partner_links_are_encoded(app: Any) -> None:
    odd = "R&D/EU+1#2"
    fakes_of(app).backends.tracklog.counts = [
        {"partner": odd, "direction": "outbound", "status": "delivered", "count": 1},
    ]
    page = await dashboard(app)
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="(/tracklog\?[^"]+)"', page)]
    asked = [parse_qs(urlsplit(h).query) for h in hrefs]
    assert {"partner": [odd]} in asked
    assert {"direction": ["outbound"], "status": ["delivered"]} in asked
