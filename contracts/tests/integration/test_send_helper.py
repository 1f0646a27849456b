"""The send-request publisher against real JetStream."""

from __future__ import annotations

import pytest

from as2bus.contracts import MAX_INLINE_BYTES, SEND_SUBJECT, SendRequest
from as2bus.contracts.documents import documents_bucket
from as2bus.contracts.send import RequestIdReusedError, publish_send_request, send_document
from as2bus.contracts.subjects import COMMANDS_STREAM
from as2bus.shared.bus import open_bus
from as2bus.shared.bus.documents import DocumentStore


async def test_small_documents_go_inline_and_large_ones_by_reference(nats_url: str) -> None:
    bus = await open_bus(nats_url, name="test-send")
    try:
        small = await send_document(
            bus.client, b"ISA*00~", station="MYCO", partner="acme", filename="a.x12"
        )
        large_data = b"x" * (MAX_INLINE_BYTES + 1)
        large = await send_document(bus.client, large_data, station="MYCO", partner="acme")
        assert small.inline_bytes() == b"ISA*00~"
        assert small.document is None
        assert large.inline_base64 is None
        assert large.document is not None
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        assert await store.get(large.document) == large_data
        sub = await bus.js.pull_subscribe(SEND_SUBJECT, durable="t", stream=COMMANDS_STREAM)
        fetched = await sub.fetch(2, timeout=5)
        got = [SendRequest.model_validate_json(m.data) for m in fetched]
        assert [r.request_id for r in got] == [small.request_id, large.request_id]
        # No subject given: left out, not null, so that an outbound-svc from before partners'
        # default subjects still reads it (as "AS2 Message").
        assert all(b'"subject"' not in m.data for m in fetched)
    finally:
        await bus.close()


async def test_the_same_request_published_twice_is_stored_once(nats_url: str) -> None:
    bus = await open_bus(nats_url, name="test-send")
    try:
        request = SendRequest(
            request_id="r-1", station="MYCO", partner="acme", inline_base64="eA=="
        )
        first = await publish_send_request(bus.client, request)
        again = await publish_send_request(bus.client, request)
        assert not first.duplicate
        assert again.duplicate
        assert (await bus.js.stream_info(COMMANDS_STREAM)).state.messages == 1
    finally:
        await bus.close()


async def test_another_document_under_a_request_id_just_published_is_an_error_not_silence(
    nats_url: str,
) -> None:
    """JetStream drops it as a repeat (its PubAck says duplicate): the caller is told, with
    the stream's duplicate window, instead of waiting for an outcome that is the first one's."""
    bus = await open_bus(nats_url, name="test-send")
    try:
        first = await send_document(bus.client, b"ISA*first~", station="MYCO", partner="acme",
                                    request_id="inv-1")  # fmt: skip
        with pytest.raises(RequestIdReusedError) as refused:
            await send_document(bus.client, b"ISA*SECOND~", station="MYCO", partner="acme",
                                request_id="inv-1", filename="second.x12")  # fmt: skip
        assert str(refused.value) == (
            "the request id 'inv-1' was already published within the last 2 minutes, so this "
            "publish was dropped: if it was the same request, wait for that one's outcome; "
            "otherwise give this document its own request id"
        )
        assert refused.value.request_id == "inv-1"
        # The same request again (a retry after a publish timed out) is no error, and is the
        # first one: stored once.
        again = await send_document(bus.client, b"ISA*first~", station="MYCO", partner="acme",
                                    request_id="inv-1")  # fmt: skip
        assert again == first
        assert (await bus.js.stream_info(COMMANDS_STREAM)).state.messages == 1
    finally:
        await bus.close()


async def test_another_large_document_under_a_used_request_id_leaves_the_first_stored(
    nats_url: str,
) -> None:
    """A document too large to go inline is stored as out/<request_id>: the first request's
    is not replaced by another under the same id (the first would then fail its checksum)."""
    bus = await open_bus(nats_url, name="test-send")
    big = b"1" * (MAX_INLINE_BYTES + 1)
    try:
        first = await send_document(bus.client, big, station="MYCO", partner="acme",
                                    request_id="big-1")  # fmt: skip
        assert first.document is not None
        with pytest.raises(RequestIdReusedError, match="used before for another document"):
            await send_document(bus.client, b"2" * len(big), station="MYCO", partner="acme",
                                request_id="big-1")  # fmt: skip
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        assert await store.get(first.document) == big
        # The same request again finds its document stored, and stores nothing new.
        assert await send_document(bus.client, big, station="MYCO", partner="acme",
                                   request_id="big-1") == first  # fmt: skip
    finally:
        await bus.close()
