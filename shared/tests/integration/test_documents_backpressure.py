"""Storing objects against nats-server's ingest bound (2.11 on: at most ``max_buffered_size``
of publishes queued per stream, the rest refused with 429). Our chunks on their way are
bounded per connection, so many objects stored at once stay within it; and a store whose
chunks are refused fails with a reason and leaves nothing, rather than waiting forever for the
answer nats-py loses (nats-io/nats.py#985)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest

from as2bus.contracts import documents as contract_documents
from as2bus.contracts.documents import CHUNK_BYTES, documents_bucket, put_object
from as2bus.shared.bus import open_bus
from as2bus.testing.infra import LocalNats

#: Room for 4 chunks queued in the stream; more at once are refused.
SMALL_INGEST = "jetstream {\n  max_buffered_size: 2MB\n}\n"


@pytest.fixture(scope="module")
def small_ingest_nats() -> Iterator[str]:
    nats = LocalNats(config=SMALL_INGEST)
    try:
        yield nats.url
    finally:
        nats.stop()


def chunks_of(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]


async def chunk_count(js: object, bucket: str) -> int:
    info = await js.stream_info(f"OBJ_{bucket}")  # type: ignore[attr-defined]
    return int(info.state.messages)


async def test_objects_stored_at_once_stay_within_the_connection_s_window(
    small_ingest_nats: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contract_documents, "CONNECTION_CHUNKS_IN_FLIGHT", 2)
    bus = await open_bus(small_ingest_nats, name="test-window")
    try:
        bucket = await documents_bucket(bus.js)
        data = [os.urandom(6 * CHUNK_BYTES + 17) for _ in range(6)]
        refs = await asyncio.gather(
            *(put_object(bus.js, bucket, f"w-{i}", chunks_of(d)) for i, d in enumerate(data))
        )
        for ref, original in zip(refs, data, strict=True):
            assert ref.size == len(original)
            assert (await bucket.get(ref.name)).data == original
    finally:
        await bus.close()


async def test_a_store_whose_chunks_are_refused_fails_with_a_reason_and_leaves_nothing(
    small_ingest_nats: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Room for far more than the server queues: some chunks are refused (429), and nats-py
    # never completes their futures.
    monkeypatch.setattr(contract_documents, "CONNECTION_CHUNKS_IN_FLIGHT", 256)
    monkeypatch.setattr(contract_documents, "CHUNKS_IN_FLIGHT", 256)
    monkeypatch.setattr(contract_documents, "ACK_SECONDS", 2.0)
    bus = await open_bus(small_ingest_nats, name="test-refused")
    try:
        bucket = await documents_bucket(bus.js)
        before = await chunk_count(bus.js, bucket._name)
        started = time.monotonic()
        results = await asyncio.gather(
            *(put_object(bus.js, bucket, f"r-{i}", chunks_of(os.urandom(40 * CHUNK_BYTES)))
              for i in range(4)),
            return_exceptions=True,
        )  # fmt: skip
        failed = [r for r in results if isinstance(r, BaseException)]
        assert failed, "the server refused nothing: the test did not reach its ingest bound"
        for error in failed:
            assert isinstance(error, TimeoutError)
            assert "did not acknowledge a chunk of r-" in str(error)
        assert time.monotonic() - started < 30  # the bound, not forever
        stored = [r for r in results if not isinstance(r, BaseException)]
        assert await chunk_count(bus.js, bucket._name) == before + 40 * len(stored)
        # The connection's room came back: a later object is stored as usual.
        ref = await put_object(bus.js, bucket, "after", [b"fine"])
        assert (await bucket.get(ref.name)).data == b"fine"
    finally:
        await bus.close()
