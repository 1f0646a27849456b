"""A 2xx without a receipt we can read for the message (not an MDN, or an MDN for another
message): the partner may have the document, so it is sent again with the same Message-ID
after the usual backoff, counted towards the attempts, and then failed with a reason that says
the partner may have it. ACME is played by our codec (world.py), misbehaving as each test says.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx

from as2bus import as2
from as2bus.contracts import MdnReceived, MessageDelivered, MessageFailed, MessageRetrying
from as2bus.outbound.domain import Message
from as2bus.outbound.domain.message import RECEIPT_UNREADABLE

from ..fakes import Answer
from .messages import T0
from .test_sending import EDI, accepted, claimed
from .world import PARTNER, Outbound, acme_answers, acme_reads, as2_keys, outbound

GARBAGE = httpx.Response(200, text="<html>OK</html>", headers={"Content-Type": "text/html"})


def garbage(_headers: dict[str, str], _body: bytes) -> httpx.Response:
    return GARBAGE


def mdn_for(message_id: str) -> Answer:
    """ACME reads the message and answers a good signed MDN, but naming ``message_id``."""

    def answer(headers: dict[str, str], body: bytes) -> httpx.Response:
        received = dataclasses.replace(acme_reads(headers, body), message_id=message_id)
        acme = as2.LocalParty(as2_id=PARTNER, signing=as2_keys("acme"))
        mdn = as2.build_mdn(received, local=acme)
        return httpx.Response(200, headers=mdn.headers, content=mdn.body)

    return answer


def in_turn(*answers: Answer) -> Answer:
    """The first answer to the first POST, the second to the second ..."""
    given = iter(answers)
    return lambda headers, body: next(given)(headers, body)


async def attempt(world: Outbound, message: Message) -> str:
    """The next attempt when it is due: the clock moves to its time, claim, send."""
    stored = world.store.stored(message.message_id)
    now = stored.next_attempt_at or T0
    world.clock.now = max(world.clock.now, now)
    return await world.sender.send(await claimed(world, stored, now=world.clock.now))


async def test_a_2xx_without_an_mdn_is_sent_again_with_the_same_message_id_then_fails() -> None:
    world = outbound(garbage, max_attempts=3)
    message = await accepted(world)
    assert await attempt(world, message) == "retrying"
    stored = world.store.stored(message.message_id)
    assert stored.next_attempt_at == T0 + timedelta(seconds=10)  # the usual backoff
    assert stored.content == EDI  # kept for the next attempt
    (first,) = world.store.of_type(MessageRetrying)
    assert first.data.reason.startswith(f"{RECEIPT_UNREADABLE}: HTTP 200, not an MDN: text/html")
    assert first.data.reason.endswith("sent again with the same Message-ID")
    assert await attempt(world, message) == "retrying"
    second = world.store.of_type(MessageRetrying)[1]
    assert second.data.reason.startswith(f"{RECEIPT_UNREADABLE} (2 times in a row): ")
    assert world.store.stored(message.message_id).next_attempt_at == (
        T0 + timedelta(seconds=10 + 20)
    )
    assert await attempt(world, message) == "failed"
    (failed,) = world.store.of_type(MessageFailed)
    assert (failed.data.code, failed.data.attempts, failed.data.http_status) == (
        "mdn-unreadable",
        3,
        200,
    )
    assert failed.data.reason.startswith(
        "the partner took the message each time (3 attempts, the same Message-ID) but its "
        "receipt could not be read, so it may have the document: ask the partner before "
        "sending it again (last answer: HTTP 200, not an MDN: text/html)"
    )
    assert {headers["Message-ID"] for headers, _ in world.partner.posted} == {message.message_id}
    assert len(world.partner.posted) == 3
    assert world.store.of_type(MdnReceived) == []  # no receipt was read
    assert world.store.stored(message.message_id).content == EDI  # kept for a resend


async def test_an_mdn_for_another_message_is_no_receipt_for_ours() -> None:
    world = outbound(in_turn(mdn_for("<another@acme.example>"), acme_answers))
    message = await accepted(world)
    assert await attempt(world, message) == "retrying"
    (retry,) = world.store.of_type(MessageRetrying)
    assert retry.data.reason.startswith(
        f"{RECEIPT_UNREADABLE}: the MDN is for another message, <another@acme.example>"
    )
    assert retry.data.http_status == 200  # the partner's answer, which the reason never names
    assert world.store.of_type(MdnReceived) == []
    # The partner recognises the Message-ID and answers its receipt this time: delivered.
    assert await attempt(world, message) == "delivered"
    (done,) = world.store.of_type(MessageDelivered)
    assert done.data.attempts == 2


async def test_an_mdn_naming_our_message_id_in_other_brackets_or_case_is_ours() -> None:
    world = outbound(lambda h, b: mdn_for(h["Message-ID"].strip("<>").upper())(h, b))
    message = await accepted(world)
    assert await attempt(world, message) == "delivered"


async def test_after_other_failures_the_reason_counts_only_the_unreadable_attempts() -> None:
    refused = httpx.Response(503, text="busy")
    world = outbound(in_turn(lambda _h, _b: refused, garbage, garbage), max_attempts=3)
    message = await accepted(world)
    assert [await attempt(world, message) for _ in range(3)] == ["retrying", "retrying", "failed"]
    (failed,) = world.store.of_type(MessageFailed)
    assert failed.data.code == "mdn-unreadable"
    assert failed.data.reason.startswith(
        "the partner took the message on the last 2 attempts of 3 (the same Message-ID) but "
        "its receipt could not be read, so it may have the document"
    )


async def test_a_partner_allowed_one_attempt_fails_at_once_saying_it_may_have_it() -> None:
    world = outbound(garbage, max_attempts=3)
    (acme,) = world.replica.partners.values()
    world.replica.partners[acme.id] = acme.model_copy(update={"max_attempts": 1})
    message = await accepted(world)
    assert await attempt(world, message) == "failed"
    (failed,) = world.store.of_type(MessageFailed)
    assert failed.data.reason.startswith(
        "the partner took the message but its receipt could not be read, so it may have the "
        "document"
    )
    assert world.store.of_type(MessageRetrying) == []


async def test_a_good_receipt_after_an_unreadable_one_delivers() -> None:
    world = outbound(in_turn(garbage, acme_answers))
    message = await accepted(world)
    assert [await attempt(world, message) for _ in range(2)] == ["retrying", "delivered"]
    stored = world.store.stored(message.message_id)
    assert (stored.status, stored.attempts, stored.last_error) == ("delivered", 2, None)
