"""Replay protection (``replay_protection.ReplayProtection`` in ``Receiver``), both ways: a
signed message captured once and posted again under a new Message-ID (which no signature
covers) is answered as a duplicate and not delivered again when the partner has it, and
delivered again when it does not; a signing time outside the window is refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from as2bus import as2
from as2bus.contracts import MessageDuplicate, MessageReceived, MessageRejected
from as2bus.inbound.metrics import REPLAYS
from as2bus.inbound.parties import Parties

from .receiving import (
    PARTNER,
    WINDOW,
    Inbound,
    acme_sends,
    inbound,
    partnership,
    read_our_mdn,
)

FIRST, REPLAY = "<order-1@acme>", "<replayed@attacker>"


def protected(clock: timedelta = timedelta(0)) -> Inbound:
    """ACME with replay protection; our clock ``clock`` ahead of the signer's."""
    return inbound(partnership(replay_protection=True), clock=lambda: datetime.now(UTC) + clock)


def replayed(sent: as2.OutgoingMessage, message_id: str = REPLAY) -> dict[str, str]:
    """What an attacker posts: the captured body and headers, under a new Message-ID."""
    return {**sent.headers, "Message-ID": message_id}


def refusals(reason: str) -> float:
    return float(REPLAYS.labels(PARTNER, reason)._value.get())


async def test_the_same_signed_body_under_a_new_message_id_is_a_duplicate_not_delivered() -> None:
    sut = protected()
    sent = acme_sends(message_id=FIRST)
    assert (await sut.receiver.receive(sent.headers, sent.body)).status_code == 200
    writes, before = list(sut.documents.writes), refusals("signature-seen")

    again = await sut.receiver.receive(replayed(sent), sent.body)

    assert again.status_code == 200  # the MDN a duplicate gets
    mdn = read_our_mdn(again.headers, again.body)
    assert (mdn.original_message_id, mdn.disposition) == (REPLAY, "processed")
    assert sut.documents.writes == writes  # nothing stored a second time
    assert len(sut.bus.of_type(MessageReceived)) == 1
    (duplicate,) = sut.bus.of_type(MessageDuplicate)
    assert (duplicate.data.message_id, duplicate.data.partner) == (REPLAY, PARTNER)
    assert duplicate.data.reason is not None
    assert f"as Message-ID {FIRST}" in duplicate.data.reason
    assert "not delivered again" in duplicate.data.reason
    assert refusals("signature-seen") == before + 1
    assert sut.ledger.row(PARTNER, REPLAY) is None  # released: a resend is checked again


async def test_a_resend_of_the_replay_under_its_own_message_id_is_still_not_delivered() -> None:
    """Its claim on the Message-ID was released, so the ledger says "new", never "retry"."""
    sut = protected()
    sent = acme_sends(message_id=FIRST)
    await sut.receiver.receive(sent.headers, sent.body)
    for _ in range(2):
        assert (await sut.receiver.receive(replayed(sent), sent.body)).status_code == 200
    assert len(sut.bus.of_type(MessageReceived)) == 1
    assert len(sut.bus.of_type(MessageDuplicate)) == 2


async def test_without_replay_protection_the_replay_is_delivered_again() -> None:
    sut = inbound(partnership(replay_protection=False))
    sent = acme_sends(message_id=FIRST)
    await sut.receiver.receive(sent.headers, sent.body)

    again = await sut.receiver.receive(replayed(sent), sent.body)

    assert again.status_code == 200
    ids = [e.data.message_id for e in sut.bus.of_type(MessageReceived)]
    assert ids == [FIRST, REPLAY]  # the hole replay protection closes
    assert sut.signatures.rows == {}


async def test_a_resend_under_the_same_message_id_stays_the_ledgers_duplicate() -> None:
    sut = protected()
    sent = acme_sends(message_id=FIRST)
    await sut.receiver.receive(sent.headers, sent.body)
    await sut.receiver.receive(sent.headers, sent.body)
    (duplicate,) = sut.bus.of_type(MessageDuplicate)
    assert duplicate.data.reason is None  # the Message-ID says it
    assert len(sut.bus.of_type(MessageReceived)) == 1


async def test_the_signature_is_kept_as_accepted_for_the_first_message_id() -> None:
    sut = protected()
    sent = acme_sends(message_id=FIRST)
    await sut.receiver.receive(sent.headers, sent.body)
    ((partner, _key), row), *more = sut.signatures.rows.items()
    assert (partner, row.message_id, row.status, more) == (PARTNER, FIRST, "accepted", [])
    assert row.signed_at is not None
    assert row.kept_until == row.signed_at + WINDOW.window + WINDOW.skew


async def test_a_signing_time_older_than_the_window_is_refused_and_nothing_delivered() -> None:
    sut = protected(clock=timedelta(hours=49))  # the message was signed 49 hours ago
    sent = acme_sends(message_id=FIRST)
    before = refusals("signing-time-too-old")

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert answer.status_code == 200  # the negative MDN is the answer
    mdn = read_our_mdn(answer.headers, answer.body)
    assert (mdn.disposition, mdn.modifier) == ("failed", "authentication-failed")
    (rejected,) = sut.bus.of_type(MessageRejected)
    assert rejected.data.modifier == "authentication-failed"
    assert rejected.data.reason.startswith("the signing time ")
    assert "is outside the replay window: more than 48 hours before our time" in (
        rejected.data.reason
    )
    assert sut.bus.of_type(MessageReceived) == []
    assert sut.documents.writes == []
    assert sut.ledger.row(PARTNER, FIRST) is None
    assert sut.signatures.rows == {}
    assert refusals("signing-time-too-old") == before + 1


async def test_a_signing_time_too_far_ahead_of_our_clock_is_refused() -> None:
    sut = protected(clock=-timedelta(minutes=20))  # signed 20 minutes in our future
    sent = acme_sends(message_id=FIRST, mdn=None)

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert answer.status_code == 400  # no MDN asked: the refusal, in words
    assert b"authentication-failed: the signing time " in answer.body
    assert b"more than 15 minutes after our time" in answer.body
    assert sut.bus.of_type(MessageReceived) == []


async def test_a_signing_time_within_the_clock_skew_or_the_window_is_delivered() -> None:
    for clock in (-timedelta(minutes=10), timedelta(hours=47)):
        sut = protected(clock=clock)
        sent = acme_sends(message_id=FIRST)
        assert (await sut.receiver.receive(sent.headers, sent.body)).status_code == 200
        assert len(sut.bus.of_type(MessageReceived)) == 1, clock


async def test_an_old_signing_time_is_not_judged_without_replay_protection() -> None:
    sut = inbound(partnership(), clock=lambda: datetime.now(UTC) + timedelta(days=30))
    sent = acme_sends(message_id=FIRST)
    await sut.receiver.receive(sent.headers, sent.body)
    assert len(sut.bus.of_type(MessageReceived)) == 1


async def test_an_unsigned_message_is_unaffected() -> None:
    sut = inbound(partnership(require_signed=False, replay_protection=True))
    sent = acme_sends(message_id=FIRST, signed=False)
    await sut.receiver.receive(sent.headers, sent.body)
    await sut.receiver.receive(replayed(sent), sent.body)
    assert len(sut.bus.of_type(MessageReceived)) == 2
    assert sut.signatures.rows == {}


def no_signing_time(sut: Inbound) -> None:
    """The codec's result as for a signature without signed attributes (``openssl cms -sign
    -noattr``; the codec's own tests read such ones): no signing time, the same key."""
    parse = sut.receiver._parse

    def parsed(
        headers: Mapping[str, str], body: bytes | BinaryIO, parties: Parties
    ) -> as2.ReceivedMessage:
        return dataclasses.replace(parse(headers, body, parties), signed_at=None)

    sut.receiver._parse = parsed  # type: ignore[method-assign]


async def test_without_a_signing_time_a_copy_is_only_deduplicated() -> None:
    sut = protected(clock=timedelta(days=30))  # no signing time: no window to be outside
    no_signing_time(sut)
    sent = acme_sends(message_id=FIRST)
    assert (await sut.receiver.receive(sent.headers, sent.body)).status_code == 200
    await sut.receiver.receive(replayed(sent), sent.body)
    assert len(sut.bus.of_type(MessageReceived)) == 1
    (duplicate,) = sut.bus.of_type(MessageDuplicate)
    assert duplicate.data.reason is not None
    assert duplicate.data.reason.startswith("the same message (signed) was accepted on ")
    (row,) = sut.signatures.rows.values()
    assert row.signed_at is None
    assert row.kept_until == row.claimed_at + WINDOW.window + WINDOW.skew


async def test_a_failed_delivery_releases_the_signature_so_the_resend_is_delivered() -> None:
    sut = protected()
    sent = acme_sends(message_id=FIRST)
    sut.documents.down = True
    assert (await sut.receiver.receive(sent.headers, sent.body)).status_code == 503
    assert sut.signatures.rows == {}
    sut.documents.down = False
    # Even under another Message-ID (some products number each attempt anew).
    assert (await sut.receiver.receive(replayed(sent), sent.body)).status_code == 200
    assert [e.data.message_id for e in sut.bus.of_type(MessageReceived)] == [REPLAY]


async def test_a_copy_while_the_first_is_being_delivered_is_asked_to_send_again() -> None:
    """The first's replica stopped between holding the signature and delivering: its resend
    (same Message-ID) goes through; a copy under another one waits until then."""
    sut = protected()
    sent = acme_sends(message_id=FIRST)
    message = sut.receiver._parse(sent.headers, sent.body, sut.parties.partnerships[0])
    assert message.signature_key is not None
    now = datetime.now(UTC)
    await sut.signatures.claim(
        PARTNER, message.signature_key, FIRST, signed_at=message.signed_at, now=now,
        kept_until=now + timedelta(hours=1),
    )  # fmt: skip
    before = refusals("signature-in-delivery")

    copy = await sut.receiver.receive(replayed(sent), sent.body)

    assert copy.status_code == 503
    assert f"being delivered as Message-ID {FIRST}".encode() in copy.body
    assert refusals("signature-in-delivery") == before + 1
    assert (await sut.receiver.receive(sent.headers, sent.body)).status_code == 200
    await sut.receiver.receive(replayed(sent), sent.body)
    assert [e.data.message_id for e in sut.bus.of_type(MessageReceived)] == [FIRST]
    assert len(sut.bus.of_type(MessageDuplicate)) == 1


async def test_a_replay_asking_an_async_mdn_gets_its_answer_here_and_nothing_is_posted() -> None:
    """The Receipt-Delivery-Option URL is a header anyone can change: no POST to it."""
    sut = protected()
    sent = acme_sends(message_id=FIRST, mdn="async")
    await sut.receiver.receive(sent.headers, sent.body)
    queued = len(sut.mdns.queued)
    headers = {**replayed(sent), "Receipt-Delivery-Option": "http://169.254.169.254/x"}

    answer = await sut.receiver.receive(headers, sent.body)

    assert answer.status_code == 200
    assert answer.body.startswith(b"duplicate: the same message (signed at ")
    assert b"no MDN was sent to http://169.254.169.254/x" in answer.body
    assert len(sut.mdns.queued) == queued
    assert len(sut.bus.of_type(MessageReceived)) == 1


async def test_the_database_unavailable_for_the_check_is_a_503_and_nothing_delivered() -> None:
    sut = protected()
    sut.signatures.down = True
    sent = acme_sends(message_id=FIRST)
    answer = await sut.receiver.receive(sent.headers, sent.body)
    assert answer.status_code == 503
    assert sut.bus.of_type(MessageReceived) == []
    assert sut.ledger.row(PARTNER, FIRST) is None  # the resend is processed afresh
