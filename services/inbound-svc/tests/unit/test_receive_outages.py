"""``Receiver.receive`` while the object store, the bus or the ledger's database is down.
Delivering needs all three: a failure is a 503 with Retry-After (never a negative MDN, which
senders take as final), the claim on the Message-ID is released and the resend is delivered,
once. Events that only report (an MDN sent, a rejection, a duplicate) never cost the partner
its answer."""

from __future__ import annotations

import pytest

from as2bus import as2
from as2bus.contracts import MessageReceived
from as2bus.inbound.domain import (
    RETRY_AFTER_SECONDS,
    Answer,
    as_received_name,
    attachment_name,
    document_name,
)

from .receiving import EDI, PARTNER, Inbound, acme_sends, inbound, read_our_mdn

MESSAGE_ID = "<order-9@acme>"
NAME = document_name(PARTNER, MESSAGE_ID)
MORE = (
    as2.Attachment(b"<invoice/>\r\n" * 10, "invoice.xml", "application/xml"),
    as2.Attachment(b"%PDF-1.7\r\n" * 10, "scan.pdf", "application/pdf"),
)


def assert_asked_to_send_again(answer: Answer, what: str = "could not store the document") -> None:
    assert answer.status_code == 503
    assert answer.headers == {"Content-Type": "text/plain", "Retry-After": str(RETRY_AFTER_SECONDS)}
    assert answer.body == f"{what} just now; please send it again later\n".encode()


def assert_delivered_once(sut: Inbound, answer: Answer, sent: as2.OutgoingMessage) -> None:
    assert answer.status_code == 200
    mdn = read_our_mdn(answer.headers, answer.body)
    assert (mdn.disposition, mdn.mic) == ("processed", sent.mic)
    assert sut.bus.types == ["MessageReceived", "MdnSent"]
    assert sut.documents.objects[NAME] == EDI
    assert sut.documents.objects[attachment_name(NAME, 1)] == MORE[0].payload
    assert sut.documents.objects[attachment_name(NAME, 2)] == MORE[1].payload
    row = sut.ledger.row(PARTNER, MESSAGE_ID)
    assert row is not None
    assert (row.status, row.event_seq, row.attachments) == ("delivered", 1, 2)


@pytest.mark.parametrize("failing", ["store-down", "second-attachment-refused"])
async def test_a_document_that_cannot_be_stored_is_a_503_and_the_resend_is_delivered(
    failing: str,
) -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, attachments=MORE)
    if failing == "store-down":
        sut.documents.down = True
    else:
        sut.documents.refused = {attachment_name(NAME, 2)}

    assert_asked_to_send_again(await sut.receiver.receive(sent.headers, sent.body))
    assert sut.bus.events == []  # not announced, no MDN, no rejection
    assert sut.ledger.rows == {}  # the claim released: the resend is not a duplicate
    assert sut.mdns.queued == []
    # The copy as received, stored alongside the documents, did not outlive the failure.
    assert as_received_name(NAME) not in sut.documents.objects

    sut.documents.down, sut.documents.refused = False, set()
    assert_delivered_once(sut, await sut.receiver.receive(sent.headers, sent.body), sent)


async def test_a_bus_refusing_message_received_is_a_503_and_nothing_is_half_delivered() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, attachments=MORE)
    sut.bus.down = True

    assert_asked_to_send_again(await sut.receiver.receive(sent.headers, sent.body))
    assert sut.bus.events == []
    assert sut.ledger.rows == {}  # not delivered, not even "receiving": released
    stored_before = set(sut.documents.objects)
    documents = {NAME, attachment_name(NAME, 1), attachment_name(NAME, 2)}
    assert stored_before == {*documents, as_received_name(NAME)}  # stored, but not announced

    sut.bus.down = False
    assert_delivered_once(sut, await sut.receiver.receive(sent.headers, sent.body), sent)
    # What the failed attempt stored is overwritten in place, not left beside the delivery.
    assert set(sut.documents.objects) == stored_before


async def test_a_ledger_that_cannot_be_reached_is_a_503_and_nothing_is_done() -> None:
    """The database down: the Message-ID cannot be claimed, so nothing is stored, announced
    or answered with an MDN; the resend, once it is back, is delivered."""
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, attachments=MORE)
    sut.ledger.down = True

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert_asked_to_send_again(answer, "could not record the message")
    assert (sut.bus.events, sut.documents.objects, sut.ledger.rows) == ([], {}, {})
    assert sut.mdns.queued == []

    sut.ledger.down = False
    assert_delivered_once(sut, await sut.receiver.receive(sent.headers, sent.body), sent)


async def test_a_ledger_lost_after_the_announcement_is_a_503_and_the_resend_is_one_event() -> None:
    """MessageReceived is on the bus, then the database goes: it cannot record the delivery
    nor forget the claim. The claim stays ``receiving``, so the resend is delivered again, as
    the same event, which the bus drops: consumers see it once."""
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, attachments=MORE)
    sut.ledger.refused = {"delivered", "release"}

    assert_asked_to_send_again(await sut.receiver.receive(sent.headers, sent.body))
    assert sut.bus.types == ["MessageReceived"]
    row = sut.ledger.row(PARTNER, MESSAGE_ID)
    assert row is not None
    assert row.status == "receiving"

    sut.ledger.refused = set()
    assert_delivered_once(sut, await sut.receiver.receive(sent.headers, sent.body), sent)


async def test_a_lost_record_of_the_message_as_received_costs_only_the_record() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID)
    sut.documents.refused = {as_received_name(NAME)}

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert answer.status_code == 200
    assert read_our_mdn(answer.headers, answer.body).disposition == "processed"
    assert sut.documents.objects == {NAME: EDI}
    (received,) = sut.bus.of_type(MessageReceived)
    assert received.data.raw is None
    row = sut.ledger.row(PARTNER, MESSAGE_ID)
    assert row is not None
    assert (row.status, row.raw_document) == ("delivered", None)


async def test_events_that_only_report_cannot_cost_the_partner_its_answer() -> None:
    sut = inbound()
    sut.bus.refused = {"MdnSent", "MessageDuplicate", "MessageRejected"}
    sent = acme_sends(message_id=MESSAGE_ID)

    first = await sut.receiver.receive(sent.headers, sent.body)
    again = await sut.receiver.receive(sent.headers, sent.body)
    unsigned = acme_sends(message_id="<unsigned@acme>", signed=False)
    refused = await sut.receiver.receive(unsigned.headers, unsigned.body)

    assert [a.status_code for a in (first, again, refused)] == [200, 200, 200]
    assert [read_our_mdn(a.headers, a.body).disposition for a in (first, again, refused)] == [
        "processed",
        "processed",
        "failed",
    ]
    assert sut.bus.types == ["MessageReceived"]  # the one event delivery depends on
