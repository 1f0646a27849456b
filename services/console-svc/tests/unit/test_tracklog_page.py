"""The TrackLog list, its links and its CSV export; and what the TrackLog pages say to a
damaged link. tracklog-svc is the fake of conftest.py, or here, where its refusals matter, its
API as httpx's mock transport answering the way the service does."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from as2bus.console.adapters.backends import Backend
from as2bus.console.wiring import wiring

from .conftest import client, fakes_of, sign_in

#: The page of the filter "until 16:00 in New York" (the browser sends its offset: 300).
NEW_YORK = {"partner": "ACME", "until": "2026-12-05T16:00", "tz": "300"}


def links(page: str) -> dict[str, str]:
    """The TrackLog's own links on a page, by their text."""
    found = re.findall(r'<a (?:class="button" )?href="(/tracklog[^"]*)"[^>]*>([^<]*)<', page)
    return {text.strip(): html.unescape(href) for href, text in found}


def params_of(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


async def test_a_time_range_means_the_same_in_every_link_and_in_the_export(app: Any) -> None:
    """Until 16:00 in the browser's zone listed four messages, but Export CSV, the column
    headers and the next page dropped the zone and asked for 16:00 UTC (none)."""
    tracklog = fakes_of(app).backends.tracklog
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        listed = (await http.get("/tracklog", params=NEW_YORK)).text
        found = links(listed)
        followed = [found["Export CSV"], found["Created ↓"], found["Last change"],
                    found["Older messages"]]  # fmt: skip
        for link in followed:
            assert params_of(link)["tz"] == "300", link
            assert (await http.get(link)).status_code == 200
    untils = [params["until"] for path, params in tracklog.asked if path == "/api/v1/messages"]
    # The list, the export's two pages, the two sorts, the next page: 16:00 in New York.
    assert untils == ["2026-12-05T16:00:00-05:00"] * 6


async def test_the_pages_are_labelled_by_the_order_and_lead_back_to_the_first(app: Any) -> None:
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        newest_first = links((await http.get("/tracklog", params=NEW_YORK)).text)
        ascending = {**NEW_YORK, "order": "asc"}
        oldest_first = links((await http.get("/tracklog", params=ascending)).text)
        second = links((await http.get(oldest_first["Newer messages"])).text)
    assert "Newer messages" not in newest_first
    assert "Older messages" not in oldest_first
    assert "First page" not in newest_first  # already on it
    assert params_of(second["First page"]) == ascending  # the filters and the order kept


def imitated_tracklog() -> Backend:
    """tracklog-svc's message API as it answers: 422 for what its parameters' types refuse
    (a message ref that is no UUID, an unknown status, a cursor it did not make), 404 for a
    message it does not have, 503 for the one message it cannot read just now."""

    def refused(*loc: str | int) -> httpx.Response:
        msg = "Input should be valid"
        return httpx.Response(422, json={"detail": [{"loc": list(loc), "msg": msg}]})

    def answer(request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        if path.startswith("/api/v1/messages/"):
            ref = path.rsplit("/", 1)[1]
            if ref == str(AWAY):
                return httpx.Response(503, text="database unavailable")
            try:
                uuid.UUID(ref)
            except ValueError:
                return refused("path", "message_ref")
            return httpx.Response(404, json={"detail": "Not Found"})
        if params.get("status", "delivered") != "delivered":
            return refused("query", "status", 0)
        if params.get("cursor", "page-2") != "page-2":
            return refused("query", "cursor")
        item = {"id": str(uuid.uuid4()), "filename": "a.x12", "status": "delivered"}
        return httpx.Response(200, json={"items": [item], "next_cursor": None})

    transport = httpx.MockTransport(answer)
    return Backend("tracklog-svc", httpx.AsyncClient(transport=transport, base_url="http://t"))


AWAY = uuid.UUID(int=1)


async def test_a_damaged_message_link_is_not_found_not_a_service_down(app: Any) -> None:
    wiring.of(app).backends.tracklog = imitated_tracklog()
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        answers = [await http.get(link) for link in (
            "/tracklog/not-a-uuid", "/tracklog/zzz/download/document",
            "/tracklog/zzz/download/attachment/1", f"/tracklog/{AWAY}/download/attachment/x",
            "/tracklog/zzz/resend", f"/tracklog/{uuid.uuid4()}",
        )]  # fmt: skip
        away = await http.get(f"/tracklog/{AWAY}")
    for answer in answers:
        assert answer.status_code == 404, answer.url
        assert "<h1>Not found</h1>" in answer.text
        assert "answered" not in answer.text  # no service blamed, no JSON
        assert "detail" not in answer.text
    assert "There is no message not-a-uuid." in answers[0].text
    # A service that is really away still says so.
    assert away.status_code == 503
    assert "A service is not answering" in away.text


async def test_a_filter_or_page_the_tracklog_refuses_is_left_out_and_said_so(app: Any) -> None:
    wiring.of(app).backends.tracklog = imitated_tracklog()
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        bogus = await http.get("/tracklog", params={"partner": "ACME", "status": "bogus"})
        garbage = await http.get("/tracklog", params={"partner": "ACME", "cursor": "garbage"})
        export = await http.get("/tracklog.csv", params={"status": "bogus"})
    assert bogus.status_code == garbage.status_code == 200
    assert "Status &#34;bogus&#34; is not a value this filter takes" in bogus.text
    assert "a.<wbr>x12" in bogus.text  # the list, filtered by the rest
    assert params_of(links(bogus.text)["Export CSV"]) == {"partner": "ACME"}
    assert "The link to that page was damaged, so this is the first page." in garbage.text
    assert "a.<wbr>x12" in garbage.text
    # An export link with such a filter leads to the list, which says why.
    assert export.status_code == 303
    assert export.headers["location"] == "/tracklog?status=bogus"


async def test_the_filters_read_as_the_list_does_and_keep_the_zone_they_were_typed_in(
    app: Any,
) -> None:
    """The Status options read "mdn-sent" while the badges read "mdn sent"; the form sent
    again without the script dropped the zone its times were typed in."""
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog", params={**NEW_YORK, "status": "mdn-sent"})).text
    assert '<option value="mdn-sent" selected>mdn sent</option>' in page
    assert '<option value="delivered-with-warnings">delivered with warnings</option>' in page
    assert '<input type="hidden" name="tz" value="300">' in page
    # What Until stands for, which the script shows in the browser's own zone.
    assert ('name="until" value="2026-12-05T16:00" data-instant="2026-12-05T16:00:00-05:00"'
            in page)  # fmt: skip
    assert 'name="since" value="">' in page


async def test_attempts_are_shown_for_what_we_send_only(app: Any) -> None:
    row = {"id": str(uuid.uuid4()), "status": "delivered", "partner": "ACME", "station": "MYCO",
           "filename": "po.x12", "created_at": "2026-12-05T10:00:00+00:00",
           "updated_at": "2026-12-05T10:00:01+00:00"}  # fmt: skip
    fakes_of(app).backends.tracklog.listed = [
        {**row, "direction": "outbound", "attempts": 2},
        {**row, "direction": "inbound", "attempts": 0},
    ]
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog")).text
    cells = re.findall(r"<td>(\d+|—)</td>", page)
    assert cells == ["2", "—"]


async def test_a_failure_resent_since_says_how_its_resend_went_and_can_be_left_out(
    app: Any,
) -> None:
    """A failure resent and delivered since was listed as plainly failed: the list, the
    dashboard and the export now say it was resent and how that went, and the Resent filter
    leaves out what needs no resend."""
    resend = {"id": "r2-row", "message_id": "<r2@myco>", "request_id": "console-1",
              "status": "delivered", "created_at": "2026-12-05T10:05:00+00:00"}  # fmt: skip
    failed = {"id": "f1-row", "direction": "outbound", "status": "failed", "partner": "ACME",
              "station": "MYCO", "filename": "po.x12", "attempts": 6, "message_id": "<f1@myco>",
              "created_at": "2026-12-05T10:00:00+00:00", "error_code": "HTTP_500",
              "updated_at": "2026-12-05T10:01:00+00:00", "resends": 2,
              "last_resend": resend}  # fmt: skip
    tracklog = fakes_of(app).backends.tracklog
    tracklog.listed = [failed]
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog", params={"resent": "false"})).text
        dashboard = (await http.get("/")).text
        export = await http.get("/tracklog.csv")
    row = page[page.index('href="/tracklog/f1-row"') :]
    row = " ".join(re.sub(r"<[^>]+>", " ", row[: row.index("</tr>")]).split())
    assert "failed resent 2 times: delivered" in row
    assert 'href="/tracklog/r2-row"' in page
    assert '<option value="false" selected>not resent</option>' in page
    asked = [params for path, params in tracklog.asked if path == "/api/v1/messages"]
    assert asked[0]["resent"] == "false"  # tracklog-svc filters, not the page
    assert "resent since: " in dashboard
    # The way from the dashboard to what still needs a resend.
    assert (
        'href="/tracklog?direction=outbound&amp;status=failed%2Crejected&amp;resent=false" '
        'id="failures-not-resent"'
    ) in dashboard
    assert 'href="/tracklog/r2-row"' in dashboard
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][-3:] == ["resends", "last_resend_status", "last_resend_message_id"]
    assert rows[1][-3:] == ["2", "delivered", "<r2@myco>"]
    name = export.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="tracklog-\d{4}-\d\d-\d\d-\d{6}Z\.csv"', name)


async def test_partner_and_station_offer_the_as2_ids_config_knows(app: Any) -> None:
    """Typing "demo-b" found nothing for DEMO-B and nothing suggested it: the inputs offer
    config-svc's partners and stations (tracklog-svc matches them in any case)."""
    config = fakes_of(app).backends.config
    config.listed = {"/api/v1/partners": [{"as2_id": "DEMO-B"}, {"as2_id": "acme"}],
                     "/api/v1/stations": [{"as2_id": "MYCO"}]}  # fmt: skip
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog", params={"partner": "demo-b"})).text
        config.down = True
        without = await http.get("/tracklog")
    assert 'name="partner" value="demo-b" list="known-partners"' in page
    assert ('<datalist id="known-partners"><option value="acme"><option value="DEMO-B">'
            "</datalist>") in page  # fmt: skip
    assert 'list="known-stations"' in page
    assert '<datalist id="known-stations"><option value="MYCO"></datalist>' in page
    assert without.status_code == 200  # config-svc away: the list without the choices
    assert '<datalist id="known-partners"></datalist>' in without.text


async def test_the_live_reload_of_the_listing_does_not_ask_config_svc(app: Any) -> None:
    """The live script reloads the page up to twice a second for its listing only: the
    filters' choices (two calls to config-svc) are left out of those reloads."""
    config = fakes_of(app).backends.config
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        await http.get("/tracklog")
        asked_by_the_page = len(config.asked)
        reloaded = await http.get("/tracklog", headers={"X-As2bus-Listing-Only": "1"})
    assert asked_by_the_page == 2
    assert len(config.asked) == asked_by_the_page
    assert reloaded.status_code == 200
    assert "data-live=" in reloaded.text  # the listing the script takes


async def test_a_status_group_is_asked_for_and_kept_by_every_link(app: Any) -> None:
    """Status took one value: "failed" left out "rejected" (refused before sending), which the
    dashboard counts as failures too."""
    tracklog = fakes_of(app).backends.tracklog
    asked = {"partner": "ACME", "status": "failed,rejected"}
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog", params=asked)).text
        found = links(page)
        for link in (found["Export CSV"], found["Created ↓"], found["Last change"],
                     found["Older messages"]):  # fmt: skip
            assert params_of(link)["status"] == "failed,rejected", link
            assert (await http.get(link)).status_code == 200
        live = re.search(r'data-live="([^"]+)"', page)
        assert live is not None
        await http.get(html.unescape(live[1]))
        hand_made = (await http.get("/tracklog", params={"status": "sent,queued"})).text
    statuses = [params["status"] for path, params in tracklog.asked if path == "/api/v1/messages"]
    # The list, the export's two pages, the two sorts, the next page; then the hand-made link.
    assert statuses == [["failed", "rejected"]] * 6 + [["sent", "queued"]]
    live_asked = {"partner": "ACME", "status": ["failed", "rejected"]}
    assert tracklog.streamed == [("/api/v1/stream", live_asked)]
    assert '<option value="failed,rejected" selected>failed or refused</option>' in page
    assert '<option value="queued,sending,sent,retrying">on its way</option>' in page
    assert '<option value="rejected">rejected</option>' in page  # each status still
    assert '<option value="sent,queued" selected>sent or queued</option>' in hand_made


async def test_the_list_says_how_many_match(app: Any) -> None:
    tracklog = fakes_of(app).backends.tracklog
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        tracklog.matching = 128
        filtered = (await http.get("/tracklog", params={"status": "failed,rejected"})).text
        unfiltered = (await http.get("/tracklog")).text
        tracklog.matching = 1
        one = (await http.get("/tracklog", params={"q": "x"})).text
        tracklog.matching = 0
        none = (await http.get("/tracklog", params={"q": "x"})).text
        tracklog.matching = 250_000
        many = (await http.get("/tracklog", params={"q": "x"})).text
        export = await http.get("/tracklog.csv")
    assert '<p class="matches">128 messages match.</p>' in filtered
    assert '<p class="matches">128 messages.</p>' in unfiltered
    assert '<p class="matches">1 message matches.</p>' in one
    assert '<p class="matches">More than 10,000 messages match.</p>' in many
    assert 'class="matches"' not in none  # "No messages match these filters" says it once
    assert export.status_code == 200
    counted = [p.get("count") for path, p in tracklog.asked if path == "/api/v1/messages"]
    assert counted == ["true"] * 5 + [None]  # the export reads every row: it does not count
