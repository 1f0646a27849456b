"""The URL a message names for its async MDN (Receipt-Delivery-Option) is a header no
signature covers: one that can never be posted to is refused on arrival, and a resend of a
Message-ID already received gets its MDN where the first copy asked, never at a URL the resend
names (service.py)."""

from __future__ import annotations

from .receiving import ASYNC_URL, acme_sends, inbound, read_our_mdn

MESSAGE_ID = "<resent@acme>"


async def test_a_resend_naming_another_url_gets_its_mdn_at_the_first_ones() -> None:
    """The URL is no signature's: a captured message posted again under its Message-ID with
    a URL of the poster's choosing must not make us POST there."""
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, mdn="async")
    assert (await sut.receiver.receive(sent.headers, sent.body)).status_code == 200
    moved = {**sent.headers, "Receipt-Delivery-Option": "http://attacker.example/elsewhere"}

    again = await sut.receiver.receive(moved, sent.body)

    assert (again.status_code, again.body) == (200, b"")
    first, second = sut.mdns.queued
    assert first.outcome.url == second.outcome.url == ASYNC_URL
    assert sut.bus.types == ["MessageReceived", "MessageDuplicate"]


async def test_a_resend_asking_async_of_a_message_that_asked_sync_is_answered_in_the_response() -> (
    None
):
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, mdn="sync")
    assert (await sut.receiver.receive(sent.headers, sent.body)).status_code == 200
    asks_async = {**sent.headers, "Receipt-Delivery-Option": "http://attacker.example/mdn"}

    again = await sut.receiver.receive(asks_async, sent.body)

    assert again.status_code == 200
    mdn = read_our_mdn(again.headers, again.body)
    assert (mdn.original_message_id, mdn.disposition) == (MESSAGE_ID, "processed")
    assert sut.mdns.queued == []


async def test_a_receipt_url_that_can_never_be_used_is_refused_on_arrival() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, mdn="async")
    headers = {**sent.headers, "Receipt-Delivery-Option": "file:///etc/passwd"}

    answer = await sut.receiver.receive(headers, sent.body)

    assert (answer.status_code, answer.body) == (
        400,
        b"unexpected-processing-error: the Receipt-Delivery-Option must be an http or https "
        b"URL: an asynchronous MDN is not posted to a file: URL\n",
    )
    assert sut.mdns.queued == []
    assert sut.bus.types == ["MessageRejected"]
