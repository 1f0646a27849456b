"""The document store against real JetStream: one-chunk and many-chunk documents come back
byte-identical, a wrong sha256 is refused, and reads create no consumers."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import Iterator

import pytest

from as2bus.contracts import DOCUMENTS_BUCKET
from as2bus.contracts import documents as contract_documents
from as2bus.contracts.documents import CHUNK_BYTES, documents_bucket, put_object
from as2bus.shared.bus import open_bus
from as2bus.shared.bus.documents import DocumentStore


@pytest.mark.parametrize("size", [0, 1, 128 * 1024, 128 * 1024 + 1, 3 * 1024 * 1024 + 7])
async def test_documents_of_any_chunk_count_come_back_identical(nats_url: str, size: int) -> None:
    bus = await open_bus(nats_url, name="test-documents")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        data = os.urandom(size)
        ref = await store.put(f"doc-{size}", data)
        assert ref.size == size
        assert await store.get(ref) == data
        assert await store.size(f"doc-{size}") == size
    finally:
        await bus.close()


async def test_a_document_that_does_not_match_its_reference_is_refused(nats_url: str) -> None:
    bus = await open_bus(nats_url, name="test-documents")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        small = await store.put("small", b"ISA*00~")
        large = await store.put("large", os.urandom(300_000))
        for ref in (small, large):
            forged = ref.model_copy(update={"sha256": "0" * 64})
            with pytest.raises(ValueError, match="does not match its size and sha256"):
                await store.get(forged)
    finally:
        await bus.close()


async def test_reading_documents_creates_no_consumer(nats_url: str) -> None:
    """nats-py's reader makes a consumer per read; under load the server refused reads."""
    bus = await open_bus(nats_url, name="test-documents")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        ref = await store.put("edi", b"ISA*00*" * 100)
        large = await store.put("large", b"ISA*00*" * 100_000)
        for _ in range(50):
            assert await store.get(ref) == b"ISA*00*" * 100
        for _ in range(5):
            assert await store.get(large) == b"ISA*00*" * 100_000
        info = await bus.js.stream_info(f"OBJ_{DOCUMENTS_BUCKET}")
        assert info.state.consumer_count == 0
    finally:
        await bus.close()


@pytest.mark.parametrize("size", [0, 5, 128 * 1024, 3 * 1024 * 1024 + 7])
async def test_streamed_in_and_out_without_holding_the_document(nats_url: str, size: int) -> None:
    """put_file stores a range of a file; chunks() gives it back piece by piece, and another
    document stored in between (chunks interleaved in the stream) does not mix in."""
    bus = await open_bus(nats_url, name="test-documents")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        data = os.urandom(size)
        with tempfile.TemporaryFile() as file:
            file.write(b"ignored head" + data + b"ignored tail")
            ref = await store.put_file(f"streamed-{size}", file, 12, size)
        other = await store.put(f"other-{size}", os.urandom(200_000))
        assert (ref.size, ref.sha256) == (size, hashlib.sha256(data).hexdigest())
        pieces = [piece async for piece in store.chunks(ref)]
        assert b"".join(pieces) == data
        assert all(len(p) <= CHUNK_BYTES for p in pieces)
        assert await store.get(other) != data
        info = await bus.js.stream_info(f"OBJ_{DOCUMENTS_BUCKET}")
        assert info.state.consumer_count == 0
    finally:
        await bus.close()


async def test_what_we_store_reads_back_with_nats_py_and_replaces_cleanly(nats_url: str) -> None:
    """Our pipelined put writes what every object-store client reads: nats-py's own get gives
    the bytes and the digest it checks; storing the name again leaves only the new chunks."""
    bus = await open_bus(nats_url, name="test-documents")
    try:
        bucket = await documents_bucket(bus.js)
        store = DocumentStore(bucket, bus.js)
        first, second = os.urandom(3 * CHUNK_BYTES + 11), os.urandom(CHUNK_BYTES + 1)
        await store.put("replaced", first)
        info = await bus.js.stream_info(f"OBJ_{DOCUMENTS_BUCKET}")
        before = info.state.messages
        ref = await store.put("replaced", second)
        read = await bucket.get("replaced")  # nats-py's reader checks the digest we recorded
        assert read.data == second
        assert read.info.chunks == 2
        assert ref.sha256 == hashlib.sha256(second).hexdigest()
        info = await bus.js.stream_info(f"OBJ_{DOCUMENTS_BUCKET}")
        assert info.state.messages == before - 4 + 2  # the first's 4 chunks gone, 2 new ones
    finally:
        await bus.close()


async def test_a_new_name_is_stored_without_looking_it_up_first(
    nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storing under a new name costs no lookup (JetStream checks that none exists); a name
    stored before is looked up, its chunks replaced; a deleted one is stored again whole."""
    bus = await open_bus(nats_url, name="test-documents")
    try:
        bucket = await documents_bucket(bus.js)
        store = DocumentStore(bucket, bus.js)
        looked_up: list[str] = []
        get_info = bucket.get_info

        async def counted(name: str, show_deleted: bool | None = False) -> object:
            looked_up.append(name)
            return await get_info(name, show_deleted)

        monkeypatch.setattr(bucket, "get_info", counted)
        await store.put("fresh-name", b"first")
        assert looked_up == []
        await store.put("fresh-name", b"second")
        assert looked_up == ["fresh-name"]
        assert (await bucket.get("fresh-name")).data == b"second"
        await bucket.delete("fresh-name")
        await store.put("fresh-name", b"third")
        assert (await bucket.get("fresh-name")).data == b"third"
    finally:
        await bus.close()


async def test_two_ranges_of_one_file_are_stored_at_once(
    nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """inbound-svc stores a signed message's document (a range of the request body) while it
    keeps the whole body as received: two readers of one file object, interleaved."""
    monkeypatch.setattr(contract_documents, "CHUNKS_IN_FLIGHT", 1)  # a wait after each chunk
    bus = await open_bus(nats_url, name="test-documents")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        data = os.urandom(5 * CHUNK_BYTES + 3)
        with tempfile.TemporaryFile() as file:
            file.write(data)
            whole, middle = await asyncio.gather(
                store.keep_http_message("whole", [("AS2-From", "A")], file, what="as received"),
                store.put_file("middle", file, CHUNK_BYTES // 2, 3 * CHUNK_BYTES),
            )
        assert whole is not None
        assert await store.get(whole) == b"AS2-From: A\r\n\r\n" + data
        start = CHUNK_BYTES // 2
        assert await store.get(middle) == data[start : start + 3 * CHUNK_BYTES]
    finally:
        await bus.close()


async def test_a_put_that_fails_part_way_leaves_no_chunks(nats_url: str) -> None:
    bus = await open_bus(nats_url, name="test-documents")
    try:
        bucket = await documents_bucket(bus.js)
        info = await bus.js.stream_info(f"OBJ_{DOCUMENTS_BUCKET}")
        before = info.state.messages

        def failing() -> Iterator[bytes]:
            yield os.urandom(CHUNK_BYTES)
            yield os.urandom(CHUNK_BYTES)
            raise OSError("the disk went away")

        with pytest.raises(OSError, match="the disk went away"):
            await put_object(bus.js, bucket, "half-written", failing())
        info = await bus.js.stream_info(f"OBJ_{DOCUMENTS_BUCKET}")
        assert info.state.messages == before
        assert await DocumentStore(bucket, bus.js).stored("half-written") is None
    finally:
        await bus.close()


async def test_streamed_reads_check_the_reference_at_the_end(nats_url: str) -> None:
    bus = await open_bus(nats_url, name="test-documents")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        ref = await store.put("checked", os.urandom(300_000))
        forged = ref.model_copy(update={"sha256": "0" * 64})
        with pytest.raises(ValueError, match="does not match its size and sha256"):
            _ = [piece async for piece in store.chunks(forged)]
    finally:
        await bus.close()


async def test_a_file_shorter_than_announced_is_refused(nats_url: str) -> None:
    bus = await open_bus(nats_url, name="test-documents")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        with tempfile.TemporaryFile() as file:
            file.write(b"only this")
            with pytest.raises(ValueError, match="early"):
                await store.put_file("short", file, 0, 1000)
        assert await store.size("short") is None
    finally:
        await bus.close()


@pytest.mark.parametrize("size", [0, 5, 128 * 1024 - 40, 300_000])
async def test_an_http_message_is_kept_byte_for_byte_from_memory_or_a_file(
    nats_url: str, size: int
) -> None:
    """Header lines, a blank line, then the body as it came: the same bytes whether the body
    was in memory or in a file (streamed from its start, whatever the file's position)."""
    bus = await open_bus(nats_url, name="test-documents")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        headers = [("Message-ID", "<m-1@example>"), ("Content-Type", "application/pkcs7-mime")]
        body = os.urandom(size)
        expected = (
            b"Message-ID: <m-1@example>\r\nContent-Type: application/pkcs7-mime\r\n\r\n" + body
        )
        in_memory = await store.keep_http_message("raw-mem", headers, body, what="a message")
        with tempfile.TemporaryFile() as file:
            file.write(body)  # left at its end, as a spooled request body may be
            from_file = await store.keep_http_message("raw-file", headers, file, what="a message")
        for ref in (in_memory, from_file):
            assert ref is not None
            assert ref.size == len(expected)
            assert ref.sha256 == hashlib.sha256(expected).hexdigest()
            assert await store.get(ref) == expected
    finally:
        await bus.close()


async def test_a_message_that_cannot_be_kept_costs_only_the_record(nats_url: str) -> None:
    bus = await open_bus(nats_url, name="test-documents")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        with tempfile.TemporaryFile() as file:
            file.write(b"x" * 10)
            file.close()  # a closed file cannot be read: the caller goes on without a record
            assert await store.keep_http_message("raw-x", [], file, what="a message") is None
    finally:
        await bus.close()
