"""The console's HTTP handlers in process (no browser, no other service): sign-in, session
cookies, roles, CSRF, the users API, with fake backends and SQLite on a temporary file
(conftest.py)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from as2bus.console.domain.roles import Role
from as2bus.console.wiring import wiring

from .conftest import (
    TOKEN,
    client,
    csrf_of,
    fakes_of,
    sign_in,
    via,
)


async def test_pages_need_a_session_and_the_cookie_is_http_only(app: Any) -> None:
    async with client(app) as http:
        assert (await http.get("/tracklog")).headers["location"] == "/login?next=/tracklog"
        form = await http.get("/login")
        answer = await http.post("/login", data={"email": "admin@example.com",
                                 "password": "correct horse battery",
                                 "csrf": csrf_of(form.text)})  # fmt: skip
        cookie = answer.headers["set-cookie"]
        assert "as2bus_session=" in cookie
        assert "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        dashboard = await http.get("/")
        assert dashboard.status_code == 200
        assert TOKEN not in dashboard.text  # the backend token never in a page


async def test_the_sign_in_form_needs_its_csrf_token(app: Any) -> None:
    async with client(app) as http:
        await http.get("/login")
        answer = await http.post("/login", data={"email": "admin@example.com",
                                 "password": "correct horse battery", "csrf": "guess"})  # fmt: skip
        assert answer.status_code == 403
        assert "out of date" in answer.text


async def test_send_file_needs_the_operator_role_and_the_form_token(app: Any) -> None:
    async with client(app) as viewer:
        await sign_in(viewer, "viewer@example.com")
        page = await viewer.get("/tracklog")
        files = {"file": ("po.x12", b"ISA*00~", "application/edi-x12")}
        data = {"csrf": csrf_of(page.text), "partnership": "p1"}
        assert (await viewer.post("/send", data=data, files=files)).status_code == 403
    async with client(app) as admin:
        assert await sign_in(admin, "admin@example.com") == "/send"
        form = await admin.get("/send")
        files = {"file": ("po.x12", b"ISA*00~", "application/edi-x12")}
        refused = await admin.post("/send", data={"csrf": "x", "partnership": "p1"}, files=files)
        assert refused.status_code == 403
        data = {"csrf": csrf_of(form.text), "partnership": "p1", "subject": "PO 1"}
        sent = await admin.post("/send", data=data, files=files)
        assert sent.headers["location"] == "/sent/console-req-1"
    ((body, fields),) = fakes_of(app).sender.sent
    assert body == b"ISA*00~"
    assert (fields["station"], fields["partner"], fields["subject"]) == ("MYCO", "ACME", "PO 1")


async def test_the_users_api_takes_the_admin_token_only(app: Any) -> None:
    async with client(app) as http:
        body = {"email": "new@example.com", "role": "operator"}
        assert (await http.post("/api/v1/users", json=body)).status_code == 401
        made = await http.post("/api/v1/users", json=body,
                               headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert made.status_code == 201
        assert len(made.json()["password"]) >= 12
        again = await http.post("/api/v1/users", json=body,
                                headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert again.status_code == 409


async def test_the_csv_export_has_every_page_of_the_filtered_list(app: Any) -> None:
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        answer = await http.get("/tracklog.csv", params={"partner": "ACME", "cursor": "x"})
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:3] == ["created_at", "updated_at", "direction"]
    assert [r[5] for r in rows[1:]] == ["a.x12", "b.x12", 'c, "quoted".x12']
    tracklog = fakes_of(app).backends.tracklog
    asked = [params for path, params in tracklog.asked if "messages" in path]
    assert [a.get("cursor") for a in asked] == [None, "page-2"]  # the page's own cursor dropped


async def test_a_request_refused_before_it_was_read_is_listed_without_none(app: Any) -> None:
    """A send request that was not even JSON is rejected with no station, partner, file,
    Message-ID or request id: the list and its page say so instead of printing "None"."""
    unread = {"id": "f00d", "direction": "outbound", "status": "rejected", "attempts": 0,
              "station": None, "partner": None, "filename": None, "message_id": None,
              "request_id": None, "created_at": "2026-12-04T10:00:00+00:00",
              "updated_at": "2026-12-04T10:00:00+00:00", "timeline": []}  # fmt: skip
    tracklog = fakes_of(app).backends.tracklog
    tracklog.listed = [unread]
    tracklog.details["f00d"] = unread
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        listed = (await http.get("/tracklog")).text
        detail = (await http.get("/tracklog/f00d")).text
    row = listed[listed.index("<tbody>") : listed.index("</tbody>")]
    assert "None" not in row
    assert row.count("<td>—</td>") == 2  # station, partner
    assert '<a href="/tracklog/f00d">a request that could not be read</a>' in row.replace(
        "<wbr>", ""
    )
    assert "None" not in detail
    assert "<h1>a request that could not be read" in detail


async def test_the_dashboard_names_requests_refused_without_a_partner(app: Any) -> None:
    """Their count has no partner: a row of its own, neither "None" nor a link to filter on it,
    beside a partner as often failing."""
    fakes_of(app).backends.tracklog.counts = [
        {"partner": None, "direction": "outbound", "status": "rejected", "count": 1},
        {"partner": "ACME", "direction": "outbound", "status": "failed", "count": 2},
    ]
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/")).text
    partners = page[
        page.index("<h2>Partners</h2>") : page.index("</table>", page.index("<h2>Partners</h2>"))
    ]
    assert "None" not in partners
    assert "<td>no partner (refused requests)</td><td>1</td>" in partners
    assert partners.index("ACME") < partners.index("no partner")


async def test_single_sign_on_headers_count_only_from_the_proxy(proxied: Any) -> None:
    ann = {"X-Forwarded-Email": "Ann@Example.com", "X-Forwarded-Groups": "staff,as2-ops"}
    async with via(proxied, "10.1.2.3") as http:
        page = await http.get("/send", headers=ann)
        assert page.status_code == 200
        assert "ann@example.com" in page.text
        files = {"file": ("po.x12", b"ISA*00~", "application/edi-x12")}
        bad = await http.post("/send", headers=ann, data={"csrf": "x", "partnership": "p1"},
                              files=files)  # fmt: skip
        assert bad.status_code == 403
        good = await http.post("/send", headers=ann, files=files,
                               data={"csrf": csrf_of(page.text), "partnership": "p1"})  # fmt: skip
        assert good.status_code == 303
        nobody = {"X-Forwarded-Email": "bob@example.com", "X-Forwarded-Groups": "staff"}
        refused = await http.get("/", headers=nobody)
        assert refused.status_code == 403
        assert "none of your groups" in refused.text
    async with via(proxied, "192.168.1.9") as http:  # not the proxy: the header is ignored
        assert (await http.get("/", headers=ann)).headers["location"] == "/login?next=/"


async def test_the_proxys_groups_decide_the_role_each_time(proxied: Any) -> None:
    async with via(proxied, "10.1.2.3") as http:
        admin = {"X-Forwarded-Email": "cy@example.com", "X-Forwarded-Groups": "as2-admins"}
        assert (await http.get("/send", headers=admin)).status_code == 200
        now_ops = {**admin, "X-Forwarded-Groups": "as2-ops"}
        assert (await http.get("/send", headers=now_ops)).status_code == 200
        user = await wiring.of(proxied).accounts._repo.user_by_email("cy@example.com")
        assert user is not None
        assert user.role is Role.OPERATOR
        assert user.password_hash is None  # cannot sign in with a password


async def test_a_link_opened_signed_out_lands_with_its_filters_after_sign_in(app: Any) -> None:
    async with client(app) as http:
        asked = "/tracklog?partner=R%26D&status=delivered"
        sent_to = (await http.get(asked)).headers["location"]
        assert sent_to == "/login?next=/tracklog%3Fpartner%3DR%2526D%26status%3Ddelivered"
        form = await http.get(sent_to)
        assert 'name="next" value="/tracklog?partner=R%26D&amp;status=delivered"' in form.text
        answer = await http.post("/login", data={"email": "admin@example.com",
                                 "password": "correct horse battery", "csrf": csrf_of(form.text),
                                 "next": "/tracklog?partner=R%26D&status=delivered"})  # fmt: skip
        assert answer.headers["location"] == asked


async def test_a_refused_sign_in_keeps_the_address_typed_but_never_the_password(
    app: Any,
) -> None:
    async with client(app) as http:
        form = await http.get("/login")
        typed = {"email": "admin@example.com", "password": "wrong horse battery"}
        answer = await http.post("/login", data={**typed, "csrf": csrf_of(form.text)})
        assert answer.status_code == 401
        assert 'value="admin@example.com"' in answer.text
        assert "wrong horse battery" not in answer.text


@pytest.mark.parametrize(
    "target", ["//evil.example/", "/\t/evil.example", "/\n/evil.example", "https://evil.example"]
)
async def test_sign_in_never_sends_a_user_to_another_site(app: Any, target: str) -> None:
    async with client(app) as http:
        form = await http.get("/login")
        answer = await http.post("/login", data={"email": "admin@example.com",
                                 "password": "correct horse battery", "csrf": csrf_of(form.text),
                                 "next": target})  # fmt: skip
        assert answer.headers["location"] == "/"


async def test_a_page_the_role_may_not_open_keeps_the_header_and_names_the_role_needed(
    app: Any,
) -> None:
    async with client(app) as viewer:
        await sign_in(viewer, "viewer@example.com")
        refused = await viewer.get("/send")
        assert refused.status_code == 403
        assert "This takes the operator role and yours is viewer: ask an admin." in refused.text
        assert 'action="/logout"' in refused.text  # the header, with Sign out
        assert 'href="/tracklog"' in refused.text  # and the navigation


def test_dates_in_a_sentence_are_marked_as_dates_on_one_line_and_the_rest_is_escaped() -> None:
    from as2bus.console.entrypoints.text_filters import whole_dates

    shown = whole_dates("<b>expires</b> — its successor is scheduled from 2026-12-28")
    date = '<time class="date nowrap" datetime="2026-12-28">2026-12-28</time>'
    assert str(shown) == f"&lt;b&gt;expires&lt;/b&gt; — its successor is scheduled from {date}"
    assert str(whole_dates("no date here")) == "no date here"


async def test_signing_out_says_so(app: Any) -> None:
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/")).text
        out = await http.post("/logout", data={"csrf": csrf_of(page)})
        assert (out.status_code, out.headers["location"]) == (303, "/login?signed_out=1")
        landed = (await http.get(out.headers["location"])).text
        fresh = (await http.get("/login")).text
    assert '<p class="done" role="status">You are signed out.</p>' in landed
    assert "signed out" not in fresh


async def test_an_empty_filtered_tracklog_says_how_filters_match_not_to_send_a_file(
    app: Any,
) -> None:
    """A typo in a filter must not read as "there were none, send one"."""
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        filtered = (await http.get("/tracklog", params={"partner": "demo-b"})).text
        unfiltered = (await http.get("/tracklog")).text
    assert "No messages match these filters: a search matches the start of a Message-ID" in (
        filtered
    )
    assert 'href="/send">Send a file</a> to see one here' not in filtered
    assert 'href="/send">Send a file</a> to see one here' in unfiltered


def test_a_url_or_file_name_breaks_after_its_separators_and_a_long_piece_anywhere() -> None:
    """Partner health broke "https://rd.exam" over "ple.com/as2"; the page now offers breaks
    after "/", ".", "-" and the like only, and marks a piece too long for a line."""
    from markupsafe import Markup

    from as2bus.console.entrypoints.text_filters import breakable

    url = str(breakable("https://rd.example.com/as2?x=<1>"))
    assert url == "https://<wbr>rd.<wbr>example.<wbr>com/<wbr>as2?<wbr>x=<wbr>&lt;1&gt;"
    long = "0123456789ABCDEF" * 2
    assert str(breakable(f"ORDERS-{long}.x12")) == (
        f'ORDERS-<wbr><span class="token">{long}.</span><wbr>x12'
    )
    # A macro's output (escaped already) is not escaped twice.
    assert str(breakable(Markup("&lt;1@myco&gt;"))) == "&lt;1@<wbr>myco&gt;"
