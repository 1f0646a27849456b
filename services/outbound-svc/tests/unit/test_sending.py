"""The send path's use cases against the in-memory fakes: accept a request, send it to ACME
(played by our codec, which decrypts, verifies and signs its MDN), and settle what comes
back; every outcome with the events it publishes."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import httpx
import pytest

from as2bus import as2
from as2bus.contracts import (
    AttemptStarted,
    MdnReceived,
    MdnReport,
    MessageDelivered,
    MessageFailed,
    MessageQueued,
    MessageRejected,
    MessageRetrying,
    MessageSent,
    SendRequest,
)
from as2bus.outbound.domain import Message
from as2bus.outbound.settle import MdnBeforeItsMessage
from as2bus.shared.bus.documents import mdn_object_name, sent_object_name
from as2bus.testing.config_states import station_state

from ..fakes import FakeUnitOfWork
from .messages import LEASE, T0
from .world import Outbound, acme_reads, as2_keys, outbound, refusing, unreachable

EDI = b"ISA*00*          *00*          *ZZ*MYCO           *ZZ*ACME           ~\r\nIEA*1*1~\r\n"


def request(request_id: str = "order-1", data: bytes = EDI) -> SendRequest:
    return SendRequest(
        request_id=request_id,
        station="MYCO",
        partner="ACME",
        inline_base64=base64.b64encode(data).decode(),
        filename="order.x12",
        content_type="application/edi-x12",
    )


async def accepted(world: Outbound, sent: SendRequest | None = None) -> Message:
    assert await world.acceptor.accept(sent or request()) == "queued"
    (queued,) = world.store.of_type(MessageQueued)
    return world.store.stored(queued.data.message_id)


async def claimed(world: Outbound, message: Message, now=T0) -> Message:  # type: ignore[no-untyped-def]
    """What the claims adapter does, on the fake: the next attempt starts under a lease."""
    async with FakeUnitOfWork(world.store, lambda: None) as uow:
        found = await uow.messages.get(message.message_id)
        assert found is not None
        uow.publish(found.claim(now, LEASE))
        assert await uow.messages.save(found)
        await uow.commit()
    return found


async def test_a_request_is_queued_with_its_document_kept_inline() -> None:
    world = outbound()
    message = await accepted(world)
    assert (message.status, message.attempts, message.content) == ("queued", 0, EDI)
    assert message.is_due(T0)
    (event,) = world.store.of_type(MessageQueued)
    assert (event.data.request_id, event.data.size, event.data.filename) == (
        "order-1",
        len(EDI),
        "order.x12",
    )


async def test_the_same_request_again_is_a_duplicate_and_another_under_its_id_is_refused() -> None:
    world = outbound()
    first = await accepted(world)
    assert await world.acceptor.accept(request()) == "duplicate"
    assert await world.acceptor.accept(request(data=b"another document")) == "rejected"
    (refused,) = world.store.of_type(MessageRejected)
    assert (refused.data.code, refused.data.filename) == ("REQUEST_ID_REUSED", "order.x12")
    assert first.message_id in refused.data.reason
    # It names the message that stands, so the TrackLog tells it on that message's row.
    assert refused.data.message_id == first.message_id
    assert len(world.store.messages) == 1


async def test_a_request_for_an_unknown_partner_is_refused_with_the_reason() -> None:
    world = outbound()
    unknown = request().model_copy(update={"partner": "NOBODY"})
    assert await world.acceptor.accept(unknown) == "rejected"
    (refused,) = world.store.of_type(MessageRejected)
    assert (refused.data.code, refused.data.message_id) == ("UNKNOWN_PARTNERSHIP", None)
    assert refused.data.reason == "we have no partner 'NOBODY'"
    assert world.store.messages == {}


@pytest.mark.parametrize(
    ("station", "partner", "reason"),
    [
        ("MYCO", "acme", "we have no partner 'acme' (did you mean 'ACME'? AS2 IDs are "
         "case-sensitive)"),
        ("myco", "ACME", "we have no station 'myco' (did you mean 'MYCO'? AS2 IDs are "
         "case-sensitive)"),
        ("NOBODY", "ACME", "we have no station 'NOBODY'"),
        ("OTHER", "ACME", "no partnership between station 'OTHER' and partner 'ACME'"),
    ],
)  # fmt: skip
async def test_a_refusal_says_which_as2_id_is_unknown_and_the_one_meant(
    station: str, partner: str, reason: str
) -> None:
    world = outbound()
    world.replica.stations[uuid.uuid4()] = station_state("OTHER")  # known, with no partnership
    wrong = request().model_copy(update={"station": station, "partner": partner})
    assert await world.acceptor.accept(wrong) == "rejected"
    (refused,) = world.store.of_type(MessageRejected)
    assert (refused.data.code, refused.data.reason) == ("UNKNOWN_PARTNERSHIP", reason)


async def test_a_refusal_names_the_file_of_the_request_and_none_of_a_body_not_read() -> None:
    world = outbound()
    assert await world.acceptor.accept(request().model_copy(update={"partner": "NOBODY"})) == (
        "rejected"
    )
    invalid = b'{"request_id": "order-2", "filename": "invoice.x12", "station": 1}'
    assert await world.acceptor.accept_raw(invalid) == "rejected"
    assert await world.acceptor.accept_raw(b'{"filename": "lost.x12"') == "rejected"
    refusals = world.store.of_type(MessageRejected)
    assert [(r.data.code, r.data.filename) for r in refusals] == [
        ("UNKNOWN_PARTNERSHIP", "order.x12"),
        ("INVALID_REQUEST", "invoice.x12"),
        ("INVALID_JSON", None),
    ]


async def test_a_content_type_that_is_not_a_mime_type_is_refused_in_a_sentence() -> None:
    """Before, "not a type!!" went to the partner as the document's Content-Type."""
    world = outbound()
    body = request().model_dump(mode="json", exclude_none=True)
    attached = {"inline_base64": body["inline_base64"], "content_type": "text/plain\r\nX: 1"}
    for document in ({"content_type": "not a type!!"}, {"attachments": [attached]}):
        raw = json.dumps(body | document).encode()
        assert await world.acceptor.accept_raw(raw) == "rejected"
    refusals = world.store.of_type(MessageRejected)
    assert [(r.data.code, r.data.reason) for r in refusals] == [
        ("INVALID_REQUEST", "content_type: 'not a type!!' is not a MIME type (type/subtype, "
                            "e.g. application/edi-x12)"),
        ("INVALID_REQUEST", "attachments.0.content_type: 'text/plain\\r\\nX: 1' is not a MIME "
                            "type (type/subtype, e.g. application/edi-x12)"),
    ]  # fmt: skip
    assert world.store.messages == {}


async def test_a_sync_mdn_that_proves_delivery_settles_the_message() -> None:
    world = outbound()
    message = await claimed(world, await accepted(world))
    assert await world.sender.send(message) == "delivered"
    ((headers, body),) = world.partner.posted
    received = acme_reads(headers, body)
    assert received.payload == EDI
    assert received.signed
    assert received.encrypted
    stored = world.store.stored(message.message_id)
    assert (stored.status, stored.attempts) == ("delivered", 1)
    assert stored.content == EDI  # kept for downloads and resends
    assert stored.mic is not None
    assert stored.mic.split(",")[0] == received.mic
    sent, mdn, done = world.store.events[-3:]
    assert isinstance(sent, MessageSent)
    assert sent.data.mdn_signature == "required"
    assert isinstance(mdn, MdnReceived)
    assert mdn.data.signature_valid is True
    assert isinstance(done, MessageDelivered)
    assert done.data.mdn is not None
    assert done.data.mdn.mic_matches is True
    # The MDN and the message as sent are kept for the console, and referenced by the message.
    assert mdn_object_name(message.message_id) in world.documents.objects
    assert sent_object_name(message.message_id) in world.documents.objects
    assert stored.mdn_document is not None
    assert stored.sent_document is not None


async def test_the_mdn_request_names_the_station_e_mail_or_as2bus_without_one() -> None:
    """Before, every message asked for its MDN with ``Disposition-Notification-To: as2bus``,
    though `station --email` said it was sent: a partner moved from OpenAS2 saw it change."""
    told = []
    for station in ({"email": "edi@myco.example"}, {}):
        world = outbound(station=station)
        message = await claimed(world, await accepted(world))
        assert await world.sender.send(message) == "delivered"
        ((headers, body),) = world.partner.posted
        told.append(headers["Disposition-Notification-To"])
        assert acme_reads(headers, body).mdn is not None  # still asks ACME for its MDN
    assert told == ["edi@myco.example", "as2bus"]


async def test_an_mdn_signed_by_someone_else_fails_the_message() -> None:
    def impostor(headers: dict[str, str], body: bytes) -> httpx.Response:
        # A readable MDN, signed with a key that is not ACME's (an unreadable one is retried:
        # test_unreadable_mdn.py).
        stranger = as2.LocalParty(as2_id="ACME", signing=as2_keys("stranger"))
        answer = as2.build_mdn(acme_reads(headers, body), local=stranger)
        return httpx.Response(200, headers=answer.headers, content=answer.body)

    world = outbound(impostor)
    message = await claimed(world, await accepted(world))
    assert await world.sender.send(message) == "failed"
    (failed,) = world.store.of_type(MessageFailed)
    assert (failed.data.code, failed.data.http_status) == ("mdn-signature-invalid", 200)
    assert world.store.stored(message.message_id).content == EDI  # kept for a resend


async def test_a_5xx_is_retried_after_a_backoff_until_the_attempts_run_out() -> None:
    world = outbound(refusing(503), max_attempts=2)
    message = await claimed(world, await accepted(world))
    assert await world.sender.send(message) == "retrying"
    stored = world.store.stored(message.message_id)
    assert stored.next_attempt_at == T0 + timedelta(seconds=10)
    (retry,) = world.store.of_type(MessageRetrying)
    assert (retry.data.attempt, retry.data.reason) == (1, "HTTP 503")
    again = await claimed(world, stored, now=T0 + timedelta(seconds=10))
    assert await world.sender.send(again) == "failed"
    (failed,) = world.store.of_type(MessageFailed)
    assert (failed.data.code, failed.data.attempts) == ("attempts-exhausted", 2)


async def test_an_unreachable_partner_is_retried() -> None:
    world = outbound(unreachable)
    message = await claimed(world, await accepted(world))
    assert await world.sender.send(message) == "retrying"
    assert world.store.stored(message.message_id).last_error == (
        "connection refused by acme.example:443"
    )


async def test_a_4xx_will_not_get_better_and_fails_at_once() -> None:
    world = outbound(refusing(400))
    message = await claimed(world, await accepted(world))
    assert await world.sender.send(message) == "failed"
    (failed,) = world.store.of_type(MessageFailed)
    assert (failed.data.code, failed.data.reason) == ("partner-refused", "HTTP 400")


async def test_a_failed_attempt_carries_the_partners_http_status_and_none_without_one() -> None:
    """Readers had the status only in the reason's words ("HTTP 503 from ...")."""
    world = outbound(refusing(503), max_attempts=2)
    message = await claimed(world, await accepted(world))
    assert await world.sender.send(message) == "retrying"
    again = await claimed(world, world.store.stored(message.message_id), now=T0 + LEASE)
    assert await world.sender.send(again) == "failed"
    (retry,) = world.store.of_type(MessageRetrying)
    (failed,) = world.store.of_type(MessageFailed)
    assert (retry.data.http_status, failed.data.http_status) == (503, 503)
    assert failed.data.code == "attempts-exhausted"

    world = outbound(refusing(404))
    assert await world.sender.send(await claimed(world, await accepted(world))) == "failed"
    (refused,) = world.store.of_type(MessageFailed)
    assert (refused.data.code, refused.data.http_status) == ("partner-refused", 404)

    world = outbound(unreachable, max_attempts=1)
    assert await world.sender.send(await claimed(world, await accepted(world))) == "failed"
    (unreached,) = world.store.of_type(MessageFailed)
    assert (unreached.data.code, unreached.data.http_status) == ("attempts-exhausted", None)
    world = outbound(unreachable)
    assert await world.sender.send(await claimed(world, await accepted(world))) == "retrying"
    (later,) = world.store.of_type(MessageRetrying)
    assert later.data.http_status is None


async def test_a_partner_disabled_since_the_request_fails_it_with_the_reason() -> None:
    world = outbound()
    message = await claimed(world, await accepted(world))
    (acme,) = world.replica.partners.values()
    world.replica.partners[acme.id] = acme.model_copy(update={"enabled": False})
    assert await world.sender.send(message) == "failed"
    (failed,) = world.store.of_type(MessageFailed)
    assert failed.data.code == "partnership-unavailable"
    assert world.partner.posted == []


async def test_an_outcome_is_dropped_when_another_replica_took_the_message_over() -> None:
    world = outbound(refusing(503))
    mine = await claimed(world, await accepted(world))
    theirs = await claimed(world, mine, now=mine.lease_until + timedelta(seconds=1))  # type: ignore[operator]
    events = len(world.store.events)
    await world.sender.send(mine)
    stored = world.store.stored(mine.message_id)
    assert (stored.status, stored.attempts) == ("sending", theirs.attempts)
    assert len(world.store.events) == events  # nothing of the old attempt was published


async def test_a_released_attempt_is_due_again_at_once() -> None:
    world = outbound()
    message = await claimed(world, await accepted(world))
    assert await world.sender.release(message)
    stored = world.store.stored(message.message_id)
    assert (stored.status, stored.next_attempt_at, stored.stopped_attempts) == (
        "retrying",
        T0,
        1,
    )
    assert not await world.sender.release(message)  # the attempt is no longer ours


async def test_an_attempt_that_crashed_counts_like_a_failed_one() -> None:
    world = outbound(max_attempts=1)
    message = await claimed(world, await accepted(world))
    assert await world.sender.crashed(message, KeyError("surprise")) == "failed"
    (failed,) = world.store.of_type(MessageFailed)
    assert failed.data.code == "unexpected-error"
    assert "KeyError" in failed.data.reason


async def test_every_attempt_is_announced_before_it_is_sent() -> None:
    world = outbound()
    message = await claimed(world, await accepted(world))
    await world.sender.send(message)
    kinds = [type(event) for event in world.store.events]
    assert kinds == [MessageQueued, AttemptStarted, MessageSent, MdnReceived, MessageDelivered]


def async_report(world: Outbound, message: Message, *, mic: str | None = None) -> MdnReport:
    """The MdnReceived inbound-svc publishes when ACME's async MDN for ``message`` arrives."""
    stored = world.store.stored(message.message_id)
    return MdnReport(
        original_message_id=message.message_id,
        station="MYCO",
        partner="ACME",
        disposition="processed",
        mic=mic or stored.mic,
        signed=True,
        signature_valid=True,
        mode="async",
    )


async def test_an_async_mdn_settles_the_message_it_is_for_once() -> None:
    world = outbound(mdn_mode="async")
    message = await claimed(world, await accepted(world))
    assert await world.sender.send(message) == "awaiting-mdn"
    waiting = world.store.stored(message.message_id)
    assert waiting.mdn_deadline == T0 + timedelta(hours=1)
    assert waiting.content == EDI  # kept for a resend until the MDN settles it
    report = async_report(world, message)
    assert await world.settlement.mdn_received(report) == "delivered"
    assert await world.settlement.mdn_received(report) is None  # a redelivered event
    (done,) = world.store.of_type(MessageDelivered)
    assert done.data.mdn is not None
    assert done.data.mdn.mode == "async"
    assert world.store.stored(message.message_id).content == EDI  # kept for downloads


async def test_an_async_mdn_that_overtakes_its_send_is_kept_for_later_not_dropped() -> None:
    """The partner's MDN can arrive before the sender has recorded its POST's 2xx: the
    message is still ``sending``. The MDN must come again (the bus redelivers it), and then
    settle the message like any other."""
    world = outbound(mdn_mode="async")
    message = await claimed(world, await accepted(world))
    early = async_report(world, message, mic="not known yet=")
    with pytest.raises(MdnBeforeItsMessage, match=message.message_id):
        await world.settlement.mdn_received(early)
    assert world.store.stored(message.message_id).status == "sending"
    assert world.store.of_type(MessageDelivered) == []
    assert await world.sender.send(message) == "awaiting-mdn"
    assert await world.settlement.mdn_received(async_report(world, message)) == "delivered"


async def test_an_async_mdn_for_another_mic_fails_the_message() -> None:
    world = outbound(mdn_mode="async")
    message = await claimed(world, await accepted(world))
    await world.sender.send(message)
    assert await world.settlement.mdn_received(async_report(world, message, mic="x=")) == ("failed")
    (failed,) = world.store.of_type(MessageFailed)
    assert "MIC" in failed.data.reason


async def test_no_mdn_by_the_deadline_fails_the_message_or_sends_it_again() -> None:
    for resend, status in ((False, "failed"), (True, "queued")):
        world = outbound(mdn_mode="async", resend_on_deadline=resend)
        message = await claimed(world, await accepted(world))
        await world.sender.send(message)
        assert await world.settlement.expire_deadlines() == 0  # an hour to go
        later = world.clock.advance(timedelta(hours=1, seconds=1))
        assert await world.settlement.expire_deadlines() == 1
        stored = world.store.stored(message.message_id)
        assert stored.status == status
        assert len(world.store.of_type(MessageFailed)) == (0 if resend else 1)
        assert stored.is_due(later) is resend
