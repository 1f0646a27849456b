"""A large document goes to ACME streamed from the object store (the fake), read once per
attempt when the codec can plan ahead, twice when compression must be measured first; the
MIC, known only once the body went out, is recorded and checked against the MDN."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

import httpx
import pytest

from as2bus.as2 import mime
from as2bus.as2.algorithms import Compression
from as2bus.as2.streaming import Encoder, Frame, StreamPlan
from as2bus.contracts import MessageDelivered, MessageRetrying, MessageSent, PartnerState
from as2bus.outbound.domain import Message
from as2bus.outbound.posting import Body, ClientIdentity, PostResult, Upload
from as2bus.shared.bus.documents import sent_object_name
from as2bus.shared.recycled_files import RecycledFiles
from as2bus.testing.waiting import until

from ..fakes import Answer, FakePartners
from .test_sending import accepted, claimed, request
from .world import Outbound, acme_answers, acme_reads, outbound

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


class AnswersOnceKept(FakePartners):
    """ACME, answering a streamed message only once its copy as sent is in the object store
    (or, with ``passes=2``, after reading the body twice, as after a followed redirect)."""

    def __init__(self, world: Outbound, answer: Answer, *, passes: int = 1) -> None:
        super().__init__(answer)
        self.world, self.passes = world, passes
        self.kept_before_answer: bytes | None = None

    async def post(
        self,
        partner: PartnerState,
        headers: dict[str, str],
        body: Body,
        *,
        identity: ClientIdentity | None = None,
    ) -> PostResult:
        assert isinstance(body, Upload)
        for _ in range(self.passes):
            content = b"".join([chunk async for chunk in body])
        name = sent_object_name(headers["Message-ID"])
        objects = self.world.documents.objects
        self.kept_before_answer = await until(lambda: objects.get(name), what="the copy as sent")
        self.posted.append((dict(headers), content))
        return self.outcome(self.answer(dict(headers), content))


def _kept_body(world: Outbound, message: Message) -> bytes:
    return world.documents.objects[sent_object_name(message.message_id)].split(b"\r\n\r\n", 1)[1]


async def test_the_copy_as_sent_is_kept_while_the_partner_answers_not_after() -> None:
    world = outbound(stream_bytes=STREAM_BYTES)
    world.sender._http = partner = AnswersOnceKept(world, acme_answers)
    message = await large_message(world)
    assert await world.sender.send(message) == "delivered"
    ((_, body),) = partner.posted
    assert partner.kept_before_answer is not None
    assert partner.kept_before_answer.endswith(body)
    assert _kept_body(world, message) == body
    (sent,) = world.store.of_type(MessageSent)
    assert sent.data.raw is not None
    assert sent.data.raw.name == sent_object_name(message.message_id)


async def test_an_early_copy_of_an_attempt_not_taken_is_deleted() -> None:
    world = outbound(stream_bytes=STREAM_BYTES)
    world.sender._http = partner = AnswersOnceKept(world, lambda *_: httpx.Response(503))
    message = await large_message(world)
    assert await world.sender.send(message) == "retrying"
    assert partner.kept_before_answer is not None  # it had been kept, then
    assert sent_object_name(message.message_id) not in world.documents.objects


async def test_a_body_sent_again_after_its_copy_was_kept_is_kept_as_last_sent() -> None:
    """A second pass (a followed redirect, a token refresh) encrypts anew: the copy kept is
    the last pass's, not the first's that was kept early."""
    world = outbound(stream_bytes=STREAM_BYTES)
    world.sender._http = partner = AnswersOnceKept(world, acme_answers, passes=2)
    message = await large_message(world)
    assert await world.sender.send(message) == "delivered"
    ((_, last),) = partner.posted
    assert _kept_body(world, message) == last


async def test_a_copy_written_over_an_earlier_longer_one_is_this_message_only() -> None:
    """The copy's file comes from a pool of files used before (``RecycledFiles``): written
    over from its start and cut where this message ends, and back in the pool afterwards."""
    world = outbound(stream_bytes=STREAM_BYTES)
    pool = RecycledFiles()
    earlier = pool.take()
    earlier.write(b"EARLIER" * 200_000)  # longer than this message
    earlier.close()
    world.sender._new_file = pool.take
    world.sender._http = partner = AnswersOnceKept(world, acme_answers)
    message = await large_message(world)
    assert await world.sender.send(message) == "delivered"
    ((_, body),) = partner.posted
    assert _kept_body(world, message) == body
    assert (pool.kept_files, pool.kept_bytes) == (1, len(body))
    pool.close()


class AnswersBeforeTheEnd(FakePartners):
    """A partner that answers after reading the first pieces of a streamed body."""

    def __init__(self, pieces: int) -> None:
        super().__init__(lambda *_: httpx.Response(200, text="thanks"))
        self.pieces = pieces
        self.read = b""

    async def post(
        self,
        partner: PartnerState,
        headers: dict[str, str],
        body: Body,
        *,
        identity: ClientIdentity | None = None,
    ) -> PostResult:
        assert isinstance(body, Upload)
        stream = cast(AsyncGenerator[bytes, None], body.__aiter__())
        for _ in range(self.pieces):
            self.read += await anext(stream)
        await stream.aclose()
        self.posted.append((dict(headers), self.read))
        return self.outcome(self.answer(dict(headers), self.read))


async def test_a_2xx_before_the_body_s_end_is_no_delivery_and_keeps_no_copy() -> None:
    """The partner answered early (and closed): it cannot have processed the message, and
    the MDN could not be checked. Retried; nothing of the attempt is kept."""
    world = outbound(stream_bytes=STREAM_BYTES)
    world.sender._http = partner = AnswersBeforeTheEnd(pieces=3)
    message = await large_message(world)
    assert await world.sender.send(message) == "retrying"
    assert len(partner.read) > 0
    (retrying,) = world.store.of_type(MessageRetrying)
    assert "answered before it had the whole message" in retrying.data.reason
    assert sent_object_name(message.message_id) not in world.documents.objects


async def test_the_copy_of_a_pass_not_sent_whole_is_what_went_out_of_it_only() -> None:
    """Cut where the pass's bytes end, not at the file's end: in a file used before, that
    would keep the rest of an earlier message as if sent."""
    pool = RecycledFiles()
    earlier = pool.take()
    earlier.write(b"EARLIER" * 10_000)
    earlier.close()
    pieces = [b"head", b"x" * 5000, b"y" * 7000, b"tail"]

    async def document() -> AsyncIterator[bytes]:
        for piece in pieces[1:-1]:
            yield piece

    plan = StreamPlan(
        message_id="<m@x>",
        headers={},
        length=sum(map(len, pieces)),
        mic_alg=None,
        _new_encoder=lambda: Encoder([Frame(pieces[0], pieces[-1])]),
    )
    upload = Upload(plan, document, keep_copy=True, new_file=pool.take)
    stream = cast(AsyncGenerator[bytes, None], upload.__aiter__())
    went_out = await anext(stream) + await anext(stream)
    await stream.aclose()
    copy = upload.copy_as_sent()
    assert copy is not None
    copy.seek(0)
    assert copy.read() == went_out == b"head" + b"x" * 5000
    upload.close()
    assert pool.kept_bytes == len(went_out)
    pool.close()
