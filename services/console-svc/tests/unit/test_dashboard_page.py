"""The dashboard: its tab title, its latest failures (refused requests among them, as its tile
counts them) and its TrackLog links for any partner's AS2 ID."""

from __future__ import annotations

import html
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


class CountedSince(FakeTracklog):
    """Statistics with the window they count, as tracklog-svc answers them."""

    async def get(self, path: str, params: Any = None) -> Any:
        answer = await super().get(path, params)
        if path == "/api/v1/stats":
            return {**answer, "since": "2026-12-04T10:00:27.123456Z",
                    "until": "2026-12-05T10:00:27.123456Z"}  # fmt: skip
        return answer


async def test_partner_links_are_encoded_and_list_the_24_hours_counted(app: Any) -> None:
    """A partner's link led to its all-time TrackLog, while its row counts the last 24 hours."""
    odd = "R&D/EU+1#2"
    fakes_of(app).backends.tracklog = CountedSince()
    fakes_of(app).backends.tracklog.counts = [
        {"partner": odd, "direction": "outbound", "status": "delivered", "count": 1},
    ]
    page = await dashboard(app)
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="(/tracklog\?[^"]+)"', page)]
    asked = [parse_qs(urlsplit(h).query) for h in hrefs]
    assert {"partner": [odd], "since": ["2026-12-04T10:00:27.123456Z"]} in asked
    async with client(app) as http:  # the TrackLog asks for that very window
        await sign_in(http, "viewer@example.com")
        (link,) = [h for h in hrefs if "partner=" in h]
        listed = await http.get(link)
    assert listed.status_code == 200
    assert (("/api/v1/messages", {"partner": odd, "since": "2026-12-04T10:00:27.123456Z",
                                  "limit": 50, "count": "true"})
            in fakes_of(app).backends.tracklog.asked)  # fmt: skip
    assert {"direction": ["outbound"], "status": ["delivered"]} in asked


class Expiring(FakeTracklog):
    async def get(self, path: str, params: Any = None) -> Any:
        if path == "/api/v1/stats":
            return {"counts": [], "time_to_mdn": [], "certificates": [
                {"alias": "acme", "kind": "partner", "days_left": 19, "state": "active"},
                {"alias": "myco@acme", "kind": "own", "days_left": -2, "state": "expired"},
                {"alias": "far", "kind": "partner", "days_left": 200, "state": "active"},
                {"alias": "spare", "kind": "partner", "days_left": 1, "state": "active"},
            ]}  # fmt: skip
        return await super().get(path, params)


class Keystores:
    name = "cert-svc"

    async def get(self, path: str, params: Any = None) -> Any:
        assert path == "/api/v1/keystores"
        return [
            {"id": "k1", "station_as2_id": "MYCO", "partner_as2_id": "ACME",
             "private_key_alias": "myco@acme", "partner_cert_alias": "acme"},
            {"id": "k2", "station_as2_id": "MYCO-EU", "partner_as2_id": "ACME",
             "private_key_alias": "myco-eu@acme", "partner_cert_alias": "acme"},
        ]  # fmt: skip


async def test_expiring_certificates_say_where_they_are_used_and_an_expired_one_says_so(
    app: Any,
) -> None:
    fakes_of(app).backends.tracklog = Expiring()
    fakes_of(app).backends.cert = Keystores()  # type: ignore[assignment]
    page = await dashboard(app)
    listed = page[page.index('<ul id="expiring">') :]
    items = re.findall(r"<li>(.*?)</li>", listed[: listed.index("</ul>")])
    assert [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in items] == [
        "myco@acme (our key): expired 2 days ago, used by MYCO → ACME",
        "spare (partner's certificate): 1 day left, used by no partnership",
        "acme (partner's certificate): 19 days left, used by MYCO → ACME, MYCO-EU → ACME",
    ]
    assert '<a href="/certificates/k1">MYCO → ACME</a>' in items[0]
    assert '<a href="/certificates/k2">MYCO-EU → ACME</a>' in items[2]
    assert "-2 days" not in page
