"""The send-request publisher against real JetStream."""

from __future__ import annotations

from as2bus.contracts import MAX_INLINE_BYTES, SEND_SUBJECT, SendRequest
from as2bus.contracts.documents import documents_bucket
from as2bus.contracts.send import publish_send_request, send_document
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
        got = [SendRequest.model_validate_json(m.data) for m in await sub.fetch(2, timeout=5)]
        assert [r.request_id for r in got] == [small.request_id, large.request_id]
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
