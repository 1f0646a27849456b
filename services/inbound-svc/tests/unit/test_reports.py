"""Events that report rather than deliver go out beside the partner's answer (reports.py): a
sync MDN does not wait for MdnSent's ack, the reports keep the order they were told in, a
failed one is logged, and ``reported`` (what the service's stop awaits) waits for them all."""

from __future__ import annotations

import asyncio
import logging

import pytest

from as2bus import as2
from as2bus.contracts import Event, MdnOutcome, MdnSent, MessageReceived
from as2bus.inbound.domain import rejected
from as2bus.inbound.replay_protection import ReplayProtection
from as2bus.inbound.reports import Reports
from as2bus.inbound.service import Receiver

from ..fakes import FakeBus
from .receiving import WINDOW, acme_sends, inbound, read_our_mdn


class HeldBus(FakeBus):
    """A bus whose MdnSent publishes wait until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def __call__(self, event: Event) -> int:
        if isinstance(event, MdnSent):
            await self.release.wait()
        return await super().__call__(event)


async def test_the_sync_mdn_is_answered_without_waiting_for_its_report() -> None:
    sut, bus = inbound(), HeldBus()
    receiver = Receiver(
        sut.parties,
        sut.ledger,
        sut.documents,
        sut.mdns,
        bus,
        replays=ReplayProtection(sut.signatures, WINDOW),
        max_payload_bytes=1 << 20,
    )
    sent = acme_sends(message_id="<held@acme>")

    answer = await asyncio.wait_for(receiver.receive(sent.headers, sent.body), 10)

    assert read_our_mdn(answer.headers, answer.body).disposition == "processed"
    assert bus.types == ["MessageReceived"]  # delivered first; the report is under way
    stop = asyncio.create_task(receiver.reported())
    await asyncio.sleep(0.05)
    assert not stop.done()  # the service's stop waits for it
    bus.release.set()
    await asyncio.wait_for(stop, 5)
    assert bus.types == ["MessageReceived", "MdnSent"]
    assert isinstance(bus.events[0], MessageReceived)


async def test_reports_keep_their_order_and_a_failed_one_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = FakeBus()
    bus.refused = {"MessageRejected"}
    reports = Reports(bus)
    for i in range(5):
        reports.tell(mdn_sent(f"<m{i}@acme>"))
    assert bus.events == []  # told, not yet published
    await reports.flushed()
    assert [e.correlation_id for e in bus.events] == [f"<m{i}@acme>" for i in range(5)]

    summary = as2.summarize_request(acme_sends(message_id="<refused@acme>").headers)
    with caplog.at_level(logging.WARNING):
        reports.tell(rejected(summary, "authentication-failed", "not signed"))
        await reports.flushed()
    assert "could not publish MessageRejected for <refused@acme>" in caplog.text
    assert len(bus.events) == 5


def mdn_sent(message_id: str) -> MdnSent:
    return MdnSent(
        correlation_id=message_id,
        data=MdnOutcome(
            original_message_id=message_id,
            station="MYCO",
            partner="ACME",
            mode="sync",
            disposition="processed",
            signed=True,
            delivered=True,
        ),
    )
