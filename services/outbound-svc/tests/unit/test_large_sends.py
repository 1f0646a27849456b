"""A large document goes to ACME streamed from the object store (the fake), read once per
attempt when the codec can plan ahead, twice when compression must be measured first; the
MIC, known only once the body went out, is recorded and checked against the MDN."""

from __future__ import annotations

import pytest

from as2bus.as2 import mime
from as2bus.as2.algorithms import Compression
from as2bus.contracts import MessageDelivered, MessageRetrying, MessageSent
from as2bus.outbound.domain import Message
from as2bus.shared.bus.documents import sent_object_name

from .test_sending import accepted, claimed, request
from .world import Outbound, acme_reads, outbound

#: Over the 64 KiB kept in the message's row: kept in the object store, and streamed.
LARGE = b"ISA*00*large~\r\n" * 13_000 + bytes(range(256)) * 40
STREAM_BYTES = 100_000


async def large_message(world: Outbound) -> Message:
    message = await claimed(world, await accepted(world, request(data=LARGE)))
    assert message.document is not None  # in the object store, not the row
    return message


def reads_of(world: Outbound, message: Message) -> list[str]:
    """The names of the objects read in chunks so far, one per reading."""
    assert message.document is not None
    assert set(world.documents.readings) <= {message.document["name"]}
    return world.documents.readings


@pytest.mark.parametrize("mdn_mode", ["sync", "async"])
async def test_a_large_document_is_read_once_and_its_mic_recorded_after_the_upload(
    mdn_mode: str,
) -> None:
    world = outbound(stream_bytes=STREAM_BYTES, mdn_mode=mdn_mode)
    message = await large_message(world)
    status = await world.sender.send(message)
    assert status == ("delivered" if mdn_mode == "sync" else "awaiting-mdn")
    assert len(reads_of(world, message)) == 1
    ((headers, body),) = world.partner.posted
    received = acme_reads(headers, body)
    assert received.payload == LARGE
    assert int(headers["Content-Length"]) == len(body)
    (sent,) = world.store.of_type(MessageSent)
    assert sent.data.mic is not None
    assert sent.data.mic.split(",")[0] == received.mic  # the digest taken while sending
    stored = world.store.stored(message.message_id)
    assert stored.mic == sent.data.mic  # what an async MDN is checked against
    if mdn_mode == "sync":
        (done,) = world.store.of_type(MessageDelivered)
        assert done.data.mdn is not None
        assert done.data.mdn.mic_matches is True


async def test_a_compressed_large_document_is_still_read_twice() -> None:
    world = outbound(stream_bytes=STREAM_BYTES, compression=Compression.BEFORE_SIGNING)
    message = await large_message(world)
    assert await world.sender.send(message) == "delivered"
    assert len(reads_of(world, message)) == 2
    ((headers, body),) = world.partner.posted
    assert acme_reads(headers, body).compressed


async def test_a_document_holding_its_boundary_fails_the_attempt_and_the_next_has_new_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With one reading the boundary is looked for while the body is sent: the attempt
    breaks off (the partner gets less than the Content-Length) and is retried with the
    reason, nothing is recorded as sent, and the next attempt builds the message anew."""
    boundary = "----=_as2bus_fixed"
    world = outbound(stream_bytes=STREAM_BYTES)
    document = LARGE + b"--" + boundary.encode() + LARGE
    message = await claimed(world, await accepted(world, request(data=document[:250_000])))
    with monkeypatch.context() as fixed:
        fixed.setattr(mime, "new_boundary", lambda *_: boundary)
        assert await world.sender.send(message) == "retrying"
    (retrying,) = world.store.of_type(MessageRetrying)
    assert "contains its MIME boundary" in retrying.data.reason
    assert not world.partner.posted
    assert not world.store.of_type(MessageSent)
    assert sent_object_name(message.message_id) not in world.documents.objects

    world.clock.advance(retrying.data.next_attempt_at - world.clock.now)
    again = await claimed(world, world.store.stored(message.message_id), world.clock.now)
    assert await world.sender.send(again) == "delivered"
    ((headers, body),) = world.partner.posted
    assert boundary not in headers["Content-Type"]
    assert acme_reads(headers, body).payload == document[:250_000]
