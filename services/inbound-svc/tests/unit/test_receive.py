"""Receiving a message that can be delivered: ``Receiver.receive`` with real AS2 messages
(built by our codec with real keys) and the in-memory fakes of its ports. What it must do:
store every document byte for byte, announce it once on the bus, answer with an MDN that
carries the right MIC, inline or queued as the partner asked, and never deliver twice."""

from __future__ import annotations

import pytest

from as2bus import as2
from as2bus.as2.algorithms import SigningAlg
from as2bus.contracts import MdnSent, MessageDuplicate, MessageReceived
from as2bus.inbound.domain import (
    as_received_name,
    attachment_name,
    document_name,
    received_event_id,
)
from as2bus.shared.bus.documents import raw_http_message
from as2bus.shared.crypto import certificate_fingerprint

from ..fakes import document_ref as ref
from .receiving import (
    ASYNC_URL,
    EDI,
    PARTNER,
    STATION,
    acme_sends,
    inbound,
    key_pair,
    partnership,
    read_our_mdn,
    without,
)

MESSAGE_ID = "<order-1@acme>"
NAME = document_name(PARTNER, MESSAGE_ID)


async def test_a_signed_encrypted_message_is_stored_announced_and_signed_for() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID)

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert answer.status_code == 200
    mdn = read_our_mdn(answer.headers, answer.body)
    assert mdn.original_message_id == MESSAGE_ID
    assert (mdn.disposition, mdn.modifier) == ("processed", None)
    assert (mdn.signed, mdn.signature_valid) == (True, True)
    assert sent.mic is not None
    assert (mdn.mic, mdn.mic_alg) == (sent.mic, SigningAlg.SHA256)
    assert (answer.headers["AS2-From"], answer.headers["AS2-To"]) == (STATION, PARTNER)

    as_received = raw_http_message(list(sent.headers.items()), sent.body)
    assert sut.documents.objects == {NAME: EDI, as_received_name(NAME): as_received}
    assert sut.bus.types == ["MessageReceived", "MdnSent"]
    received, reported = sut.bus.events
    assert isinstance(received, MessageReceived)
    assert received.event_id == received_event_id(PARTNER, MESSAGE_ID)
    assert received.correlation_id == MESSAGE_ID
    data = received.data
    assert (data.message_id, data.station, data.partner) == (MESSAGE_ID, STATION, PARTNER)
    assert (data.filename, data.content_type, data.subject) == (
        "order.x12",
        "application/edi-x12",
        "Orders",
    )
    assert (data.signed, data.encrypted, data.compressed) == (True, True, False)
    assert (data.mic, data.mic_alg) == (sent.mic, "sha256")
    assert data.document == ref(NAME, EDI)
    assert data.raw == ref(as_received_name(NAME), as_received)
    assert data.signed_with == certificate_fingerprint(key_pair("acme").cert_pem)
    assert data.headers == sent.headers
    assert data.attachments == []
    assert isinstance(reported, MdnSent)
    assert reported.data.model_dump(exclude_none=True) == {
        "original_message_id": MESSAGE_ID,
        "station": STATION,
        "partner": PARTNER,
        "mode": "sync",
        "disposition": "processed",
        "signed": True,
        "delivered": True,
        "attempts": 1,
    }

    row = sut.ledger.row(PARTNER, MESSAGE_ID)
    assert row is not None
    assert (row.status, row.document, row.raw_document) == (
        "delivered",
        NAME,
        as_received_name(NAME),
    )
    assert (row.event_seq, row.attachments) == (1, 0)  # MessageReceived's place on the bus
    assert data.received_at == row.received_at
    assert sut.mdns.queued == []


async def test_credentials_sent_along_are_neither_announced_nor_kept() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID)
    headers = {**sent.headers, "Authorization": "Basic YWNtZTpzZWNyZXQ=", "Cookie": "s=1"}

    assert (await sut.receiver.receive(headers, sent.body)).status_code == 200

    (received,) = sut.bus.of_type(MessageReceived)
    assert received.data.headers == sent.headers
    kept = sut.documents.objects[as_received_name(NAME)]
    assert kept == raw_http_message(list(sent.headers.items()), sent.body)
    assert b"YWNtZTpzZWNyZXQ=" not in kept


async def test_without_keeping_messages_as_received_only_the_document_is_stored() -> None:
    sut = inbound(keep_received_messages=False)
    sent = acme_sends(message_id=MESSAGE_ID)

    assert (await sut.receiver.receive(sent.headers, sent.body)).status_code == 200

    assert sut.documents.objects == {NAME: EDI}
    (received,) = sut.bus.of_type(MessageReceived)
    assert received.data.raw is None
    row = sut.ledger.row(PARTNER, MESSAGE_ID)
    assert row is not None
    assert (row.status, row.raw_document) == ("delivered", None)


async def test_every_document_of_a_message_of_several_is_stored_and_announced() -> None:
    """RFC 6362: the first document and two attachments, signed and encrypted together."""
    more = (
        as2.Attachment(b"<invoice n='7'/>\r\n" * 20, "invoice.xml", "application/xml"),
        as2.Attachment(bytes(range(256)) * 8, "scan.pdf", "application/pdf"),
    )
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, attachments=more)

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert answer.status_code == 200
    assert read_our_mdn(answer.headers, answer.body).mic == sent.mic
    first, second = attachment_name(NAME, 1), attachment_name(NAME, 2)
    assert sut.documents.objects[NAME] == EDI
    assert sut.documents.objects[first] == more[0].payload
    assert sut.documents.objects[second] == more[1].payload
    (received,) = sut.bus.of_type(MessageReceived)
    assert received.data.document == ref(NAME, EDI)
    assert [(a.filename, a.content_type, a.document) for a in received.data.attachments] == [
        ("invoice.xml", "application/xml", ref(first, more[0].payload)),
        ("scan.pdf", "application/pdf", ref(second, more[1].payload)),
    ]
    row = sut.ledger.row(PARTNER, MESSAGE_ID)
    assert row is not None
    assert (row.status, row.attachments) == ("delivered", 2)


async def test_an_async_mdn_is_queued_for_the_partners_url_not_returned_inline() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, mdn="async")

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert (answer.status_code, answer.body) == (200, b"")
    (queued,) = sut.mdns.queued
    assert queued.outcome.model_dump(exclude_none=True) == {
        "original_message_id": MESSAGE_ID,
        "station": STATION,
        "partner": PARTNER,
        "mode": "async",
        "disposition": "processed",
        "signed": True,
        "url": ASYNC_URL,
        "delivered": False,  # the queue's delivery will say when it is
        "attempts": 1,
    }
    mdn = read_our_mdn(queued.headers, queued.body)
    assert (mdn.disposition, mdn.signature_valid, mdn.mic) == ("processed", True, sent.mic)
    # MdnSent is the queue's to tell, once the partner has it.
    assert sut.bus.types == ["MessageReceived"]


async def test_a_resent_message_asking_an_async_mdn_gets_it_queued_again() -> None:
    """Its signature verified against ACME's certificate, the resend is ACME's: the MDN of a
    duplicate goes to the URL it names, as the first one's did."""
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, mdn="async")
    assert (await sut.receiver.receive(sent.headers, sent.body)).status_code == 200

    again = await sut.receiver.receive(sent.headers, sent.body)

    assert (again.status_code, again.body) == (200, b"")
    first, second = sut.mdns.queued
    assert second.outcome == first.outcome
    assert (second.outcome.url, second.outcome.disposition) == (ASYNC_URL, "processed")
    mdn = read_our_mdn(second.headers, second.body)
    assert (mdn.original_message_id, mdn.disposition, mdn.mic) == (
        MESSAGE_ID,
        "processed",
        sent.mic,
    )
    assert sut.bus.types == ["MessageReceived", "MessageDuplicate"]


async def test_a_partner_not_required_to_sign_gets_its_async_mdn_for_a_decrypted_message() -> None:
    """No signature to verify: the partnership accepts what decrypts with our key, and such a
    message, processed, gets its MDN at the URL it names."""
    sut = inbound(partnership(require_signed=False))
    sent = acme_sends(message_id=MESSAGE_ID, signed=False, mdn="async")

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert (answer.status_code, answer.body) == (200, b"")
    (queued,) = sut.mdns.queued
    assert (queued.outcome.url, queued.outcome.disposition) == (ASYNC_URL, "processed")
    mdn = read_our_mdn(queued.headers, queued.body)
    assert (mdn.disposition, mdn.signature_valid) == ("processed", True)
    assert mdn.mic is not None  # over the decrypted entity: no signature to take it from
    (received,) = sut.bus.of_type(MessageReceived)
    assert (received.data.signed, received.data.encrypted) == (False, True)


async def test_no_mdn_asked_for_is_an_empty_200_once_delivered() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, mdn=None)

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert (answer.status_code, answer.body) == (200, b"")
    assert sut.bus.types == ["MessageReceived"]
    assert sut.documents.objects[NAME] == EDI
    assert sut.mdns.queued == []


async def test_a_resent_message_is_a_duplicate_answered_again_but_not_delivered_again() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID)
    assert (await sut.receiver.receive(sent.headers, sent.body)).status_code == 200
    writes = list(sut.documents.writes)

    again = await sut.receiver.receive(sent.headers, sent.body)

    # AS2 Reliability (RFC 6017): the resend gets the MDN the first one got.
    assert again.status_code == 200
    mdn = read_our_mdn(again.headers, again.body)
    assert mdn.original_message_id == MESSAGE_ID
    assert (mdn.disposition, mdn.mic) == ("processed", sent.mic)
    assert sut.documents.writes == writes  # nothing stored a second time
    assert sut.bus.types == ["MessageReceived", "MdnSent", "MessageDuplicate", "MdnSent"]
    (received,) = sut.bus.of_type(MessageReceived)
    (duplicate,) = sut.bus.of_type(MessageDuplicate)
    assert duplicate.correlation_id == MESSAGE_ID
    assert duplicate.data.model_dump() == {
        "message_id": MESSAGE_ID,
        "station": STATION,
        "partner": PARTNER,
        "first_received_at": received.data.received_at,
        "reason": None,  # the Message-ID says it: no replay to explain
    }


async def test_a_message_claimed_but_never_announced_is_delivered_when_sent_again() -> None:
    """A crash between the claim and MessageReceived leaves the claim ``receiving``: the resend
    is delivered, as the same event (consumers drop a repeat) received when first claimed."""
    sut = inbound()
    _, first_claimed = await sut.ledger.claim(PARTNER, MESSAGE_ID, STATION)
    sent = acme_sends(message_id=MESSAGE_ID)

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert read_our_mdn(answer.headers, answer.body).disposition == "processed"
    (received,) = sut.bus.of_type(MessageReceived)
    assert received.event_id == received_event_id(PARTNER, MESSAGE_ID)
    assert received.data.received_at == first_claimed
    assert sut.bus.of_type(MessageDuplicate) == []
    row = sut.ledger.row(PARTNER, MESSAGE_ID)
    assert row is not None
    assert row.status == "delivered"


@pytest.mark.parametrize("missing", ["Message-ID", "AS2-From", "AS2-To"])
async def test_a_post_without_the_as2_addressing_headers_is_a_400(missing: str) -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID)

    answer = await sut.receiver.receive(without(sent.headers, missing), sent.body)

    assert answer.status_code == 400
    assert answer.body == b"not an AS2 message: Message-ID, AS2-From and AS2-To are required\n"
    assert answer.headers == {"Content-Type": "text/plain"}
    assert (sut.bus.events, sut.documents.objects, sut.ledger.rows) == ([], {}, {})
