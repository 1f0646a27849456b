"""The Partner health page asks the other services a fixed number of times, however many
partners there are (it asked five times per partner before), and shows each partner's facts:
last success, last failure and why, success rate, waiting messages, limits in use."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from as2bus.console.adapters.backends import BackendError
from as2bus.console.domain.causes import cause_of
from as2bus.console.wiring import wiring

from .conftest import client, sign_in

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
            "waiting": n % 4}  # fmt: skip


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
        counts = [{"partner": p, "direction": "outbound", "status": status, "count": count,
                   "bucket": LATE} for p in ids for status, count in (("delivered", 9),
                                                                      ("failed", 1))]  # fmt: skip
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
    for marked, row in re.findall(r'<tr class="(failing|)">(.*?)</tr>', page, re.S):
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
        assert re.sub(r"<[^>]+>", "", waiting) == str(n % 4)
    assert rate == "90.0 % of 10"
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
