"""The Partner health page asks the other services a fixed number of times, however many
partners there are (it asked five times per partner before), and shows each partner's facts:
last success, last failure and why, success rate, waiting messages, limits in use; all of
them about outbound messages. Its links and connection test work for any AS2 ID."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from markupsafe import escape

from as2bus.console.adapters.backends import BackendError
from as2bus.console.domain.causes import cause_of
from as2bus.console.wiring import wiring

from .conftest import audit_rows, client, csrf_of, sign_in

EARLY, LATE = "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"


def as2_id(n: int) -> str:
    return f"P{n:02d}"


def latest_messages(n: int) -> dict[str, Any] | None:
    """Partner n's latest messages as tracklog-svc gives them: failing now (n % 3 == 0),
    delivered again after a failure (1), or nothing sent to it yet (2: not in the answer)."""
    if n % 3 == 2:
        return None
    delivered = {"id": f"ok-{n}", "message_id": f"<ok{n}@myco>", "filename": "po.x12",
                 "status": "delivered", "updated_at": LATE if n % 3 else EARLY}  # fmt: skip
    failed = {"id": f"bad-{n}", "message_id": f"<bad{n}@myco>", "filename": "po.x12",
              "status": "failed", "updated_at": EARLY if n % 3 else LATE,
              "error_code": "mic-mismatch", "error": "MIC mismatch"}  # fmt: skip
    return {"partner": as2_id(n), "last_delivered": delivered, "last_failed": failed,
            "waiting": n % 4, "waiting_by_status": waiting_by_status(n)}  # fmt: skip


def waiting_by_status(n: int) -> dict[str, int]:
    """n % 4 waiting: one queued and the rest retrying."""
    return {s: c for s, c in (("queued", min(n % 4, 1)), ("retrying", n % 4 - 1)) if c > 0}


class Fake:
    """One backend: answers GETs from ``answers`` (path → answer), counts every call."""

    def __init__(self, name: str, calls: Counter[str], answers: dict[str, Any]) -> None:
        self.name, self._calls, self._answers = name, calls, answers

    async def get(self, path: str, params: Any = None) -> Any:
        self._calls[self.name] += 1
        answer = self._answers.get(path)
        if isinstance(answer, Exception):
            raise answer
        return answer


class HealthBackends:
    def __init__(self, partners: int, *, outbound_away: bool = False) -> None:
        self.calls: Counter[str] = Counter()
        ids = [as2_id(n) for n in range(partners)]
        # Received messages count in the statistics but not in the page's outbound figures.
        counts = [{"partner": p, "direction": direction, "status": status, "count": count,
                   "bucket": LATE} for p in ids for direction, status, count in (
                       ("outbound", "delivered", 9), ("outbound", "failed", 1),
                       ("inbound", "received", 30))]  # fmt: skip
        limits: Any = [{"as2_id": as2_id(n), "in_flight": n % 5, "max_concurrency": 25,
                        "rate_limit_per_second": None, "tokens_available": None}
                       for n in range(partners)]  # fmt: skip
        self.config = Fake("config-svc", self.calls, {
            "/api/v1/partners": [{"as2_id": p, "as2_url": f"https://{p}.example/as2"}
                                 for p in reversed(ids)],
        })  # fmt: skip
        self.tracklog = Fake("tracklog-svc", self.calls, {
            "/api/v1/stats": {"counts": counts, "time_to_mdn": [], "certificates": []},
            "/api/v1/partners/health": [h for n in range(partners) if (h := latest_messages(n))],
            "/api/v1/messages": {"items": [], "next_cursor": None},
        })  # fmt: skip
        self.outbound = Fake("outbound-svc", self.calls, {
            "/api/v1/partners/limits": BackendError("outbound-svc cannot be reached just now")
            if outbound_away else limits,
        })  # fmt: skip


def health_rows(page: str) -> dict[str, tuple[bool, list[str]]]:
    """Partner → (marked failing, its cells), in the table's order."""
    rows = {}
    for marked, row in re.findall(r'<tr class="(failing|retrying|)">(.*?)</tr>', page, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        partner = re.search(r"<strong>(.*?)</strong>", cells[0])
        assert partner is not None
        rows[partner.group(1)] = (marked == "failing", cells)
    return rows


def check_row(n: int, failing: bool, cells: list[str], *, limits: bool = True) -> None:
    _, success, failure, rate, waiting, in_use, _ = cells
    latest = latest_messages(n)
    if latest is None:
        assert (failing, success, failure, waiting) == (False, "never", "none", "0")
    else:
        delivered, failed = latest["last_delivered"], latest["last_failed"]
        assert failing == (n % 3 == 0)  # the failure is the latest exchange
        assert f'href="/tracklog/{delivered["id"]}"' in success
        assert delivered["updated_at"][:19].replace("T", " ") + " UTC" in success
        assert f'href="/tracklog/{failed["id"]}"' in failure
        assert cause_of("mic-mismatch").what in failure
        # Each waiting status links to the TrackLog filtered on it: those messages exactly.
        links = re.findall(r'<a href="([^"]+)">(\d+) (\w+)</a>', waiting)
        assert {s: int(c) for _, c, s in links} == waiting_by_status(n)
        for href, _, st in links:
            asked = parse_qs(urlsplit(href.replace("&amp;", "&")).query)
            assert asked == {"partner": [as2_id(n)], "direction": ["outbound"], "status": [st]}
        assert links or waiting == "0"
    # Outbound only, like the last delivered and failed: 9 of 10, not 39 of 40.
    assert rate == "90.0 % of the 10 that ended"
    assert in_use == (f"{n % 5} of 25 sending; no rate limit" if limits else "—")


@pytest.mark.parametrize("partners", [1, 30])
async def test_the_page_asks_four_times_whatever_the_number_of_partners(
    app: Any, partners: int
) -> None:
    backends = HealthBackends(partners)
    wiring.replace(app, backends=backends)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = await http.get("/health")
    assert page.status_code == 200
    assert backends.calls == {"config-svc": 1, "tracklog-svc": 2, "outbound-svc": 1}
    rows = health_rows(page.text)
    assert list(rows) == [as2_id(n) for n in range(partners)]  # by AS2 ID
    for n, (failing, cells) in enumerate(rows.values()):
        check_row(n, failing, cells)


async def test_without_outbound_svc_the_page_stands_without_limits(app: Any) -> None:
    backends = HealthBackends(4, outbound_away=True)
    wiring.replace(app, backends=backends)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = await http.get("/health")
        dashboard = await http.get("/")
    assert page.status_code == 200
    for n, (failing, cells) in enumerate(health_rows(page.text).values()):
        check_row(n, failing, cells, limits=False)
    # The dashboard names the failing partners (P00, P03) from the same four calls.
    assert dashboard.status_code == 200
    assert re.findall(r'<a href="/health">(P\d+)</a>', dashboard.text) == ["P00", "P03"]
    assert backends.calls == {"config-svc": 2, "tracklog-svc": 6, "outbound-svc": 2}


def with_counts(backends: HealthBackends, statuses: dict[str, int]) -> HealthBackends:
    """Its one partner's outbound messages of the last 24 hours, per status."""
    counts = [{"partner": as2_id(0), "direction": "outbound", "status": st, "count": c,
               "bucket": LATE} for st, c in statuses.items()]  # fmt: skip
    stats = {"counts": counts, "time_to_mdn": [], "certificates": []}
    backends.tracklog._answers["/api/v1/stats"] = stats
    return backends


@pytest.mark.parametrize(
    ("statuses", "shown"),
    [
        # 5 delivered, 3 retrying: once "100.0 % of 8 sent", as if all 8 were delivered.
        ({"delivered": 5, "retrying": 3},
         "100.0 % of the 5 that ended<br><small class=\"muted\">3 more still on the way, "
         "not counted</small>"),
        ({"delivered": 3, "delivered-with-warnings": 1, "failed": 1, "rejected": 1,
          "queued": 1, "sending": 1, "sent": 1},
         "66.7 % of the 6 that ended<br><small class=\"muted\">3 more still on the way, "
         "not counted</small>"),
        ({"retrying": 2},
         "none ended yet<br><small class=\"muted\">2 more still on the way, not counted</small>"),
        ({"delivered": 4}, "100.0 % of the 4 that ended"),
        ({}, "nothing sent"),
    ],
)  # fmt: skip
async def test_the_delivered_share_counts_only_messages_that_ended(
    app: Any, statuses: dict[str, int], shown: str
) -> None:
    wiring.replace(app, backends=with_counts(HealthBackends(1), statuses))
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = await http.get("/health")
    ((_, cells),) = health_rows(page.text).values()
    assert cells[3] == shown
    assert "share delivered of the messages that ended in the last 24 hours" in page.text


ODD_ID = "R&D/EU+1#2"


class OddIdBackends(HealthBackends):
    """One partner whose AS2 ID holds "&", "/", "+" and "#", its latest message refused before
    sending, two waiting; outbound-svc records the connection tests it is asked for."""

    def __init__(self) -> None:
        super().__init__(0)
        self.tested: list[str] = []
        self.config = Fake("config-svc", self.calls, {
            "/api/v1/partners": [{"as2_id": ODD_ID, "as2_url": "https://rd.example/as2"}],
        })  # fmt: skip
        refused = {"id": "refused-1", "message_id": None, "filename": "po.x12",
                   "status": "rejected", "updated_at": LATE, "error_code": "CERT_NOT_FOUND",
                   "error": "CERT_NOT_FOUND: partner certificate 'rd': none"}  # fmt: skip
        counts = [{"partner": ODD_ID, "direction": "outbound", "status": "rejected",
                   "count": 1, "bucket": LATE}]  # fmt: skip
        self.tracklog = Fake("tracklog-svc", self.calls, {
            "/api/v1/stats": {"counts": counts, "time_to_mdn": [], "certificates": []},
            "/api/v1/partners/health": [{"partner": ODD_ID, "last_delivered": None,
                                         "last_failed": refused, "waiting": 2,
                                         "waiting_by_status": {"sent": 2}}],
            "/api/v1/messages": {"items": [], "next_cursor": None},
        })  # fmt: skip
        self.outbound.post = self.connection_test  # type: ignore[attr-defined]

    async def connection_test(self, path: str, body: Any = None, *, timeout: float = 10) -> Any:
        self.tested.append(path)
        return [{"name": "DNS", "ok": True, "ms": 3, "detail": "rd.example: 192.0.2.7"}]


async def test_an_as2_id_with_url_characters_links_and_tests_right(app: Any) -> None:
    backends = OddIdBackends()
    wiring.replace(app, backends=backends)
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = await http.get("/health")
        (waiting,) = re.findall(r'<a href="(/tracklog\?[^"]+)">2 sent</a>', page.text)
        assert parse_qs(urlsplit(waiting.replace("&amp;", "&")).query)["partner"] == [ODD_ID]
        # The button posts the AS2 ID as a form field (escaped for HTML only), not in a path.
        form = page.text[page.text.index('action="/health/test"') :]
        assert 'name="partner" value="R&amp;D/EU+1#2"' in form[: form.index("</form>")]
        tested = await http.post("/health/test",
                                 data={"csrf": csrf_of(page.text), "partner": ODD_ID})  # fmt: skip
    assert tested.status_code == 200
    assert "Connection test: R&amp;D/EU+1#2" in tested.text
    assert "rd.example: 192.0.2.7" in tested.text
    (path,) = backends.tested
    assert path == "/api/v1/partners/R%26D%2FEU%2B1%232/connection-test"
    assert unquote(path.split("/")[4]) == ODD_ID


async def test_a_request_refused_before_sending_is_the_last_failure(app: Any) -> None:
    wiring.replace(app, backends=OddIdBackends())
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = await http.get("/health")
        dashboard = await http.get("/")
    ((failing, cells),) = health_rows(page.text).values()
    _, success, failure, rate, *_ = cells
    assert failing
    assert (success, rate) == ("never", "0.0 % of the 1 that ended")
    assert 'href="/tracklog/refused-1"' in failure
    assert escape(cause_of("CERT_NOT_FOUND").what) in failure
    # The dashboard names the partner among those whose last sent message failed.
    failing_section = dashboard.text[dashboard.text.index("Partners that need a look") :]
    named = (
        '<a href="/health">R&amp;D/EU+1#2</a>: its last sent message failed or was refused: '
        f"{escape(cause_of('CERT_NOT_FOUND').what)}"
    )
    assert named in failing_section


class RetryingBackends(OddIdBackends):
    """The odd partner with two messages retrying; outbound-svc hurries them when asked."""

    def __init__(self) -> None:
        super().__init__()
        health = self.tracklog._answers["/api/v1/partners/health"][0]
        health["waiting_by_status"] = {"retrying": 2}
        health["last_retrying"] = {
            "id": "retrying-1", "message_id": "<r1@myco>", "filename": "po.x12",
            "status": "retrying", "updated_at": LATE, "error_code": None,
            "error": "cannot connect to https://rd.example/as2: connection refused",
        }  # fmt: skip
        health["retrying_since"] = EARLY
        self.hurried: list[str] = []
        self.outbound.post = self.retry_now  # type: ignore[attr-defined]

    async def retry_now(self, path: str, body: Any = None, *, timeout: float = 10) -> Any:
        self.hurried.append(path)
        return {"retried": 2}


async def test_retrying_messages_are_sent_now_from_partner_health_once_fixed(app: Any) -> None:
    backends = RetryingBackends()
    wiring.replace(app, backends=backends)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        viewer_page = (await http.get("/health")).text
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = (await http.get("/health")).text
        done = await http.post("/health/retry-now",
                               data={"csrf": csrf_of(page), "partner": ODD_ID})  # fmt: skip
        shown = (await http.get(done.headers["location"])).text
    assert 'action="/health/retry-now"' not in viewer_page  # operators and admins only
    assert "Retry now (2)</button>" in page
    assert done.status_code == 303
    (path,) = backends.hurried
    assert path == "/api/v1/partners/R%26D%2FEU%2B1%232/retry-now"
    assert "2 retrying messages to R&amp;D/EU+1#2 will be sent now." in shown
    (row,) = await audit_rows(app, entity="message")
    assert row == "admin@example.com message to R&D/EU+1#2 retried now Messages sent now: 2"


async def test_a_partner_with_messages_waiting_for_a_retry_is_pointed_out(app: Any) -> None:
    """Nothing has failed yet while a partner is down, but its messages pile up retrying:
    Partner health marks its row and says why, the dashboard names it."""
    backends = RetryingBackends()
    backends.tracklog._answers["/api/v1/partners/health"][0]["last_failed"] = None
    wiring.replace(app, backends=backends)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/health")).text
        dashboard = (await http.get("/")).text
    ((failing, cells),) = health_rows(page).values()
    assert not failing
    assert '<tr class="retrying">' in page
    waiting = " ".join(re.sub(r"<[^>]+>", " ", cells[4]).split())
    assert waiting == (
        "2 retrying retrying since 2026-03-02 09:00:00 UTC ; the latest attempt failed: "
        "cannot connect to https://rd.example/as2: connection refused"
    )
    assert 'href="/tracklog/retrying-1"' in cells[4]
    section = dashboard[dashboard.index("Partners that need a look") :]
    section = section[: section.index("</section>")]
    listed = " ".join(re.sub(r"<[^>]+>", " ", section).split())
    assert (
        "R&amp;D/EU+1#2 : 2 messages waiting for a retry since 2026-03-02 09:00:00 UTC ; "
        "the latest attempt failed: cannot connect"
    ) in listed
    assert "status=retrying" in section
