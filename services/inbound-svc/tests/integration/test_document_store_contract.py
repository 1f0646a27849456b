"""The document store's contract, held by the fake the unit tests use
(``tests/fakes.FakeDocumentStore``) and by the real ``DocumentStore`` on a real NATS JetStream
object store: the same checks, so the fake cannot drift from the real thing unnoticed. Writes
go through the port (``ports.DocumentStorage``); reads through the real store's own methods,
which the fake has too. "Down" is the real store with its NATS connection closed."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import nats
import pytest
from nats.errors import ConnectionClosedError
from nats.js.errors import ObjectNotFoundError

from as2bus.contracts.documents import documents_bucket
from as2bus.shared.bus.documents import DocumentStore, mdn_object_name, raw_http_message

from ..fakes import FakeDocumentStore
from ..fakes import document_ref as ref

HEADERS = [("Message-ID", "<1@acme>"), ("AS2-From", "ACME"), ("Subject", "Bestellung über 3")]


@dataclass
class StoreUnderTest:
    store: DocumentStore | FakeDocumentStore
    go_down: Callable[[], Awaitable[None]]  # from then on, as with NATS gone


@pytest.fixture(params=["fake", "nats"], ids=["fake", "nats"])
async def under_test(request: pytest.FixtureRequest) -> AsyncIterator[StoreUnderTest]:
    if request.param == "fake":
        fake = FakeDocumentStore()

        async def fake_down() -> None:
            fake.down = True

        yield StoreUnderTest(fake, fake_down)
        return
    client = await nats.connect(str(request.getfixturevalue("nats_url")))
    js = client.jetstream()
    try:
        yield StoreUnderTest(DocumentStore(await documents_bucket(js), js), client.close)
    finally:
        if not client.is_closed:
            await client.close()


async def assert_holds(store: DocumentStore | FakeDocumentStore, name: str, data: bytes) -> None:
    assert await store.stored(name) == (len(data), hashlib.sha256(data).hexdigest())
    assert await store.get(ref(name, data)) == data


@pytest.mark.parametrize(
    "data",
    [b"", b"ISA*00~\r\nIEA*1*1~\r\n", bytes(range(256)) * 1200],  # the last: several chunks
    ids=["empty", "small", "several-chunks"],
)
async def test_put_keeps_the_bytes_under_the_name(under_test: StoreUnderTest, data: bytes) -> None:
    store = under_test.store
    assert await store.put("in/doc", data) == ref("in/doc", data)
    await assert_holds(store, "in/doc", data)


async def test_put_replaces_what_the_name_held(under_test: StoreUnderTest) -> None:
    store = under_test.store
    old = await store.put("in/doc", b"first attempt")
    await store.put("in/doc", b"second attempt, longer")
    await assert_holds(store, "in/doc", b"second attempt, longer")
    with pytest.raises(ValueError, match="does not match its size and sha256"):
        await store.get(old)


async def test_delete_forgets_the_name_and_says_whether_it_held_anything(
    under_test: StoreUnderTest,
) -> None:
    store = under_test.store
    await store.put("in/doc/as-received", b"a copy of a message not delivered")
    assert await store.delete("in/doc/as-received") is True
    assert await store.stored("in/doc/as-received") is None
    assert await store.delete("in/doc/as-received") is False


async def test_put_file_keeps_the_slice_it_is_given(under_test: StoreUnderTest) -> None:
    store = under_test.store
    file = io.BytesIO(b"HEADERS|" + b"the document" + b"|TRAILER")
    file.seek(3)  # wherever the file stands: the offset says where the document starts
    assert await store.put_file("in/doc", file, 8, 12) == ref("in/doc", b"the document")
    await assert_holds(store, "in/doc", b"the document")


async def test_put_file_of_a_file_ending_early_fails_and_keeps_nothing(
    under_test: StoreUnderTest,
) -> None:
    store = under_test.store
    with pytest.raises(ValueError, match="the file ended 3 bytes early"):
        await store.put_file("in/doc", io.BytesIO(b"abcdef"), 4, 5)
    assert await store.stored("in/doc") is None


async def test_an_http_message_is_kept_as_header_lines_a_blank_line_and_the_body(
    under_test: StoreUnderTest,
) -> None:
    store = under_test.store
    body = b"\x00binary\r\nbody"
    expected = raw_http_message(HEADERS, body)
    assert expected.startswith(b"Message-ID: <1@acme>\r\nAS2-From: ACME\r\n")
    kept = await store.keep_http_message("in/doc/as-received", HEADERS, body, what="as received")
    assert kept == ref("in/doc/as-received", expected)
    await assert_holds(store, "in/doc/as-received", expected)


async def test_an_http_message_in_a_file_is_kept_whole_from_its_start(
    under_test: StoreUnderTest,
) -> None:
    store = under_test.store
    file = io.BytesIO(b"a large body, spooled")
    file.seek(8)  # the codec read it before: still kept from its first byte
    expected = raw_http_message(HEADERS, b"a large body, spooled")
    kept = await store.keep_http_message("in/doc/as-received", HEADERS, file, what="as received")
    assert kept == ref("in/doc/as-received", expected)
    await assert_holds(store, "in/doc/as-received", expected)


async def test_a_partners_mdn_is_kept_under_the_original_message_ids_name(
    under_test: StoreUnderTest,
) -> None:
    store = under_test.store
    expected = raw_http_message(HEADERS, b"the signed report")
    name = mdn_object_name("<sent-1@myco>")
    assert await store.keep_mdn("<sent-1@myco>", HEADERS, b"the signed report") == ref(
        name, expected
    )
    await assert_holds(store, name, expected)


async def test_a_name_never_stored_is_not_there(under_test: StoreUnderTest) -> None:
    store = under_test.store
    assert await store.stored("in/never") is None
    with pytest.raises(ObjectNotFoundError):
        await store.get(ref("in/never", b"x"))


async def test_down_documents_fail_loudly_but_records_are_only_lost(
    under_test: StoreUnderTest,
) -> None:
    """The receiver answers 503 to a document it could not store, but goes on without the
    record of a message or MDN as received: the two must fail in those two ways."""
    store = under_test.store
    await under_test.go_down()
    with pytest.raises(ConnectionClosedError):
        await store.put("in/doc", b"document")
    with pytest.raises(ConnectionClosedError):
        await store.put_file("in/doc", io.BytesIO(b"document"), 0, 8)
    assert await store.keep_http_message("in/doc/as-received", HEADERS, b"x", what="x") is None
    assert await store.keep_http_message("in/raw", HEADERS, io.BytesIO(b"x"), what="x") is None
    assert await store.keep_mdn("<sent-1@myco>", HEADERS, b"report") is None
