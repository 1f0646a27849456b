"""GET /api/v1/partners/health over HTTP, on SQLite and PostgreSQL: every partner's latest
delivered, latest failed (or refused) and latest retrying outbound message and its waiting
count per status, in one answer, the same facts the message list gives one partner at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from as2bus.contracts import Event
from as2bus.testing.tracklog import T0, in_memory, inbound, outbound, rejected
from as2bus.tracklog.domain import MessageState

from .conftest import client, publish, wait_applied

__all__ = ["client"]  # the fixture, used by name

DELIVERED = ["delivered", "delivered-with-warnings"]
#: A request refused before sending counts as a failure, as the console's dashboard counts it.
FAILED = ["failed", "rejected"]
WAITING = ("queued", "sending", "sent", "retrying")


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def traffic() -> list[Event]:
    return [
        # acme: delivered, failed, then delivered with warnings (the latest); one queued.
        *outbound("<a1@myco>", at=minute(0)),
        *outbound("<a2@myco>", at=minute(5), fail="HTTP 500 from the partner"),
        *outbound("<a3@myco>", at=minute(10), mdn="processed/warning"),
        *outbound("<a4@myco>", at=minute(15))[:1],
        # globex: failures only. The one queued first failed last (after retries): the latest
        # is by last activity, not by creation. One retrying, one sent and awaiting its MDN.
        *outbound("<g1@myco>", partner="globex", at=minute(0), retries=3,
                  step=timedelta(minutes=10), fail="CERT_HAS_EXPIRED: x"),
        *outbound("<g2@myco>", partner="globex", at=minute(20), fail="HTTP 503 busy"),
        *outbound("<g3@myco>", partner="globex", at=minute(25), retries=1)[:2],
        *outbound("<g4@myco>", partner="globex", at=minute(26), mdn=None, mdn_mode="async"),
        # initech: two delivered at the same moment.
        *outbound("<i1@myco>", partner="initech", at=minute(30)),
        *outbound("<i2@myco>", partner="initech", at=minute(30)),
        # hooli sends to us only; umbrella's one request was refused before any sending.
        *inbound("<h1@hooli>", partner="hooli"),
        rejected(direction="outbound", request_id="req-refused", partner="umbrella",
                 code="CERT_NOT_FOUND", reason="partner certificate 'umbrella': none"),
        # initech's latest exchange: a request refused after its two deliveries.
        rejected(direction="outbound", request_id="req-initech", partner="initech",
                 at=minute(40), code="UNKNOWN_PARTNERSHIP", reason="partnership disabled"),
    ]  # fmt: skip


def latest(rows: list[MessageState], statuses: list[str]) -> str | None:
    matching = [r for r in rows if r.status in statuses]
    newest = max(matching, key=lambda r: (r.updated_at, r.id), default=None)
    return str(newest.id) if newest else None


async def one_by_one(api: httpx.AsyncClient, partner: str, statuses: list[str]) -> Any:
    """The latest message as the console asked for it before, one partner at a time."""
    params: dict[str, str | int | list[str]] = {
        "partner": partner, "direction": "outbound", "status": statuses, "limit": 1,
        "sort": "updated_at",
    }  # fmt: skip
    items = (await api.get("/api/v1/messages", params=params)).json()["items"]
    return items[0]["id"] if items else None


async def test_every_partners_latest_messages_and_waiting_count_in_one_answer(
    nats_url: str, database_url: str, start_service: Any, client: Any
) -> None:
    events = traffic()
    rows = [r for r in in_memory(events).values() if r.direction == "outbound"]
    api = client(start_service(database_url))
    await publish(nats_url, events)
    await wait_applied(api, len(events))

    answer = await api.get("/api/v1/partners/health")
    assert answer.status_code == 200, answer.text
    health = {h["partner"]: h for h in answer.json()}
    assert list(health) == ["acme", "globex", "initech", "umbrella"]  # by AS2 ID, outbound only

    acme, globex = health["acme"], health["globex"]
    assert (acme["last_delivered"]["message_id"], acme["last_delivered"]["status"]) == (
        "<a3@myco>", "delivered-with-warnings")  # fmt: skip
    assert acme["last_failed"]["message_id"] == "<a2@myco>"
    assert acme["last_failed"]["error"] == "HTTP 500 from the partner"
    assert (acme["waiting"], acme["waiting_by_status"]) == (1, {"queued": 1})
    assert globex["last_delivered"] is None
    failure = globex["last_failed"]
    assert (failure["message_id"], failure["error_code"]) == ("<g1@myco>", "CERT_HAS_EXPIRED")
    assert failure["updated_at"] == minute(40).isoformat().replace("+00:00", "Z")
    assert failure["filename"] == "invoice.edi"
    assert (globex["waiting"], globex["waiting_by_status"]) == (2, {"sent": 1, "retrying": 1})
    # Waiting for a retry: the latest such message, with why its attempt failed, and since
    # when the oldest has waited (when it was accepted).
    retrying = globex["last_retrying"]
    assert (retrying["message_id"], retrying["status"]) == ("<g3@myco>", "retrying")
    assert retrying["error"] == "HTTP 503 from the partner"
    assert globex["retrying_since"] == minute(25).isoformat().replace("+00:00", "Z")
    assert (acme["last_retrying"], acme["retrying_since"]) == (None, None)
    umbrella = health["umbrella"]
    assert (umbrella["last_delivered"], umbrella["waiting"], umbrella["waiting_by_status"]) == (
        None, 0, {})  # fmt: skip
    refused = umbrella["last_failed"]
    assert (refused["status"], refused["error_code"]) == ("rejected", "CERT_NOT_FOUND")
    assert health["initech"]["last_failed"]["error_code"] == "UNKNOWN_PARTNERSHIP"

    for partner, h in health.items():
        mine = [r for r in rows if r.partner == partner]
        delivered, failed = h["last_delivered"], h["last_failed"]
        assert (delivered and delivered["id"]) == latest(mine, DELIVERED), partner
        assert (failed and failed["id"]) == latest(mine, FAILED), partner
        retrying = h["last_retrying"]
        assert (retrying and retrying["id"]) == latest(mine, ["retrying"]), partner
        assert h["waiting"] == sum(r.status in WAITING for r in mine)
        assert h["waiting_by_status"] == {
            s: n for s in WAITING if (n := sum(r.status == s for r in mine))
        }
        # The same message the list, newest activity first, puts first (ties by id too).
        assert (delivered and delivered["id"]) == await one_by_one(api, partner, DELIVERED)
        # The list takes several statuses at once (the console's dashboard asks so).
        assert (failed and failed["id"]) == await one_by_one(api, partner, FAILED)
