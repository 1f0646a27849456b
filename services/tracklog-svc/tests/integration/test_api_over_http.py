"""The API of the real service process over HTTP: filters, sorting, cursor pages, one message,
dashboard figures and certificates, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from as2bus.contracts import CertExpiring, CertExpiry, Event
from as2bus.testing.tracklog import T0, Mdn, in_memory, inbound, outbound, rejected
from as2bus.tracklog.domain import MessageState

from .conftest import client, publish, wait_applied

__all__ = ["client"]  # the fixture, used by name

FILENAMES = ["INVOICE-1.edi", "invoice_2.edi", "order_3.x12", "orderX4.x12", None]


def dataset() -> list[Event]:
    events: list[Event] = []
    for n in range(24):
        at = T0 + timedelta(minutes=7 * n)
        partner, station = ("acme", "globex", "initech")[n % 3], ("MYCO", "OTHER")[n % 4 == 3]
        where: dict[str, Any] = {"partner": partner, "station": station, "at": at}
        where["filename"] = FILENAMES[n % 5]
        if n % 2:
            mdn_ok = n % 5 != 0
            events += inbound(f"<in{n}@x>", **where, duplicates=n % 3 == 1, mdn_delivered=mdn_ok)
        elif n % 8 == 6:
            events += outbound(f"<out{n}@myco>", **where, retries=1, fail="CERT_HAS_EXPIRED: x")
        else:
            mdn: Mdn = "processed/warning" if n % 4 == 2 else "processed"
            events += outbound(f"<out{n}@myco>", **where, mdn=mdn, step=timedelta(seconds=n + 1))
    events.append(rejected(direction="outbound", request_id="req-x", at=T0 + timedelta(hours=3)))
    expiry = CertExpiry(certificate_id=uuid.uuid4(), alias="acme", kind="partner",
                        fingerprint_sha256="AB:CD", subject="CN=acme", days_left=3650,
                        not_after=T0 + timedelta(days=3650), threshold_days=30)  # fmt: skip
    return [*events, CertExpiring(occurred_at=T0, data=expiry)]


def newest_first(rows: list[MessageState]) -> list[str]:
    return [str(r.id) for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)]


async def ids(api: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await api.get("/api/v1/messages", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


HOUR_1, HOUR_2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
FILTERS: list[tuple[dict[str, Any], Callable[[MessageState], bool]]] = [
    ({"partner": "globex"}, lambda r: r.partner == "globex"),
    ({"station": "OTHER"}, lambda r: r.station == "OTHER"),
    ({"direction": "inbound"}, lambda r: r.direction == "inbound"),
    ({"status": "failed"}, lambda r: r.status == "failed"),
    ({"status": ["mdn-failed", "rejected"]}, lambda r: r.status in ("mdn-failed", "rejected")),
    ({"message_id": "out4@myco"}, lambda r: r.message_id == "<out4@myco>"),
    ({"request_id": "req-x"}, lambda r: r.request_id == "req-x"),
    ({"filename": "invoice"}, lambda r: (r.filename or "").lower().startswith("invoice")),
    ({"filename": "order_"}, lambda r: (r.filename or "").startswith("order_")),  # _ is literal
    ({"since": HOUR_1.isoformat(), "until": HOUR_2.isoformat()},
     lambda r: HOUR_1 <= r.created_at < HOUR_2),
    ({"partner": "acme", "direction": "outbound"},
     lambda r: (r.partner, r.direction) == ("acme", "outbound")),
]  # fmt: skip


async def check_pages(api: httpx.AsyncClient, rows: list[MessageState]) -> None:
    pages: list[list[str]] = []
    params: dict[str, Any] = {"sort": "updated_at", "order": "asc", "limit": 4, "partner": "acme"}
    while True:  # oldest activity first, 4 at a time
        page = (await api.get("/api/v1/messages", params=params)).json()
        pages.append([item["id"] for item in page["items"]])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    acme = sorted((r for r in rows if r.partner == "acme"), key=lambda r: (r.updated_at, r.id))
    assert [ref for page in pages for ref in page] == [str(r.id) for r in acme]
    assert [len(p) for p in pages[:-1]] == [4] * (len(pages) - 1)
    bad = await api.get("/api/v1/messages", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "cursor"]


async def check_figures(api: httpx.AsyncClient, rows: list[MessageState]) -> None:
    window = {"since": T0.isoformat(), "until": (T0 + timedelta(days=1)).isoformat()}
    stats = (await api.get("/api/v1/stats", params=window | {"bucket": "hour"})).json()
    assert sum(c["count"] for c in stats["counts"]) == len(rows)
    assert {c["bucket"][11:13] for c in stats["counts"]} == {"09", "10", "11", "12"}
    mdns = sorted(r.time_to_mdn_ms for r in rows if r.time_to_mdn_ms is not None)
    overall = stats["time_to_mdn"][0]
    assert (overall["partner"], overall["count"], overall["p50"]) == (None, len(mdns), mdns[4])
    reasons = {(f["error_code"], f["partner"], f["count"]) for f in stats["failure_reasons"]}
    assert ("CERT_HAS_EXPIRED", "initech", 1) in reasons
    days = (await api.get("/api/v1/stats", params=window | {"bucket": "day"})).json()["counts"]
    assert {c["bucket"] for c in days} == {"2026-03-02T00:00:00Z"}
    assert stats["certificates"][0]["alias"] == "acme"
    certificate = (await api.get("/api/v1/certificates")).json()[0]
    assert (certificate["warned_days"], certificate["state"]) == (30, "active")


async def test_filters_sorting_pages_detail_and_figures(
    nats_url: str, database_url: str, start_service: Any, client: Any
) -> None:
    events = dataset()
    rows = list(in_memory(events).values())
    api = client(start_service(database_url))
    await publish(nats_url, events)
    await wait_applied(api, len(events))

    assert await ids(api) == newest_first(rows)
    for params, wanted in FILTERS:
        expected = newest_first([r for r in rows if wanted(r)])
        assert expected, params
        assert await ids(api, **params) == expected, params
    await check_pages(api, rows)

    failed = next(r for r in rows if r.status == "failed")
    detail = (await api.get(f"/api/v1/messages/{failed.id}")).json()
    assert (detail["error_code"], detail["attempts"]) == ("CERT_HAS_EXPIRED", 2)
    kinds = [e["event_type"] for e in detail["timeline"]]
    assert kinds == ["MessageQueued", "MessageRetrying", "MessageFailed"]
    assert (await api.get(f"/api/v1/messages/{uuid.uuid4()}")).status_code == 404
    await check_figures(api, rows)


async def test_a_list_says_which_messages_were_resent_and_how_the_latest_resend_went(
    nats_url: str, database_url: str, start_service: Any, client: Any
) -> None:
    """A failure resent twice (the second delivered) is listed with its resends and the
    latest's status, and can be left out (``resent=false``): what still needs a resend."""
    later = timedelta(minutes=1)
    events = [
        *outbound("<f1@myco>", fail="HTTP 500 from the partner"),
        *outbound("<f2@myco>", at=T0 + later, fail="HTTP 500 from the partner"),
        *outbound("<r1@myco>", at=T0 + 2 * later, replays="<f1@myco>", fail="HTTP 503 busy"),
        *outbound("<r2@myco>", at=T0 + 3 * later, replays="<f1@myco>"),
    ]
    rows = {r.message_id: r for r in in_memory(events).values()}
    api = client(start_service(database_url))
    await publish(nats_url, events)
    await wait_applied(api, len(events))

    listed = (await api.get("/api/v1/messages", params={"status": "failed"})).json()["items"]
    by_id = {m["message_id"]: m for m in listed}
    assert set(by_id) == {"<f1@myco>", "<f2@myco>", "<r1@myco>"}
    resent = by_id["<f1@myco>"]
    assert resent["resends"] == 2
    latest = resent["last_resend"]
    assert (latest["message_id"], latest["status"]) == ("<r2@myco>", "delivered")
    assert latest["id"] == str(rows["<r2@myco>"].id)
    assert (by_id["<f2@myco>"]["resends"], by_id["<f2@myco>"]["last_resend"]) == (0, None)

    async def failed(resent: str) -> list[str]:
        params = {"status": "failed", "resent": resent}
        items = (await api.get("/api/v1/messages", params=params)).json()["items"]
        return sorted(m["message_id"] for m in items)

    assert await failed("false") == ["<f2@myco>", "<r1@myco>"]
    assert await failed("true") == ["<f1@myco>"]
