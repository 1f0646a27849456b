"""A partner was down; once it is back, its retrying messages go at once when asked (the
console's Retry now) instead of at their next attempt, which here is ten minutes away. Every
service is a real process (the loopback of test_outbound_loopback.py: partner B is our own
inbound endpoint)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from as2bus.contracts.send import send_document
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of

from .conftest import client, start_outbound, stop
from .test_outbound_loopback import loopback
from .test_resend_inline import DEAD, ORDER, _partner_b


@pytest.fixture
def slow_retries(
    nats_url: str, master_key: str, tmp_path: Path, inbound_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    """outbound-svc waiting ten minutes before a second attempt."""
    proc = start_outbound(nats_url, master_key, tmp_path, AS2BUS_OUTBOUND_BACKOFF_SECONDS="600")
    yield proc
    stop(proc)


async def test_retrying_messages_are_sent_at_once_when_asked_after_the_fix(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    slow_retries: ServiceProcess,
    nats_url: str,
) -> None:
    nc: Any = await nats.connect(nats_url)
    try:
        await loopback(config_svc, cert_svc, DEAD, "sync")
        js = nc.jetstream()
        for n in range(2):
            await send_document(nc, ORDER, station="A", partner="B", filename=f"po-{n}.x12")
        retrying = await events_of(js, "MessageRetrying", count=2)
        assert {e["data"]["attempt"] for e in retrying} == {1}
        async with client(config_svc) as config:
            back = {"as2_url": f"{inbound_svc.base_url}/as2"}
            b = await _partner_b(config_svc)
            assert (await config.patch(f"/api/v1/partners/{b}", json=back)).is_success
        async with client(slow_retries) as outbound:
            # outbound-svc follows the change from the bus: asked too early, the message
            # would go to the old URL again; its connection test shows when it has it.
            for _ in range(100):
                steps = (await outbound.post("/api/v1/partners/B/connection-test")).json()
                if next(s for s in steps if s["name"] == "TCP")["ok"]:
                    break
            answer = await outbound.post("/api/v1/partners/B/retry-now")
        assert (answer.status_code, answer.json()) == (200, {"retried": 2})
        # Within seconds, not the ten minutes the backoff had them wait.
        delivered = await events_of(js, "MessageDelivered", count=2, timeout=20)
        assert len({e["data"]["message_id"] for e in delivered}) == 2
    finally:
        await nc.close()
