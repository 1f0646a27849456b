"""Several documents in one request (RFC 6362 multiple attachments), against the real object
store and database (SQLite and PostgreSQL, migrated): every attachment checked like the first
document, kept like it (in the row when the inline documents are small together, else each in
the object store), refused with a reason naming it, and part of the request's identity."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.contracts import SendRequest
from as2bus.contracts.documents import documents_bucket
from as2bus.outbound.accept import Acceptor
from as2bus.outbound.adapters.repository import to_message, units_of_work
from as2bus.outbound.adapters.tables import messages, outbox
from as2bus.outbound.domain import Message
from as2bus.outbound.domain.documents import Document, documents_of
from as2bus.shared.bus import open_bus
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.keyring import KeyRing
from as2bus.testing.config_states import paired_replica, partner_state, station_state

NOW = datetime(2026, 6, 1, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


class NoKeys:
    """A partnership that neither signs, encrypts nor asks for an MDN needs no key material."""

    async def keyring(self) -> KeyRing:
        return KeyRing([])


def plain_replica() -> ConfigReplica:
    return paired_replica(
        station_state("MYCO", name="Me"),
        partner_state("acme", name="Acme", as2_url="http://x/as2", signing_alg=None,
                      encryption_alg=None, mdn_mode="none"),
    )  # fmt: skip


def acceptor(sessions: Sessions, store: DocumentStore, *, keep_in_database_bytes: int) -> Acceptor:
    return Acceptor(
        units_of_work(sessions),
        plain_replica(),
        keys=NoKeys(),  # type: ignore[arg-type]
        documents=store,
        max_document_bytes=10_000,
        keep_in_database_bytes=keep_in_database_bytes,
        clock=lambda: NOW,
    )


def inline(data: bytes, filename: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"inline_base64": base64.b64encode(data).decode(), "filename": filename, **fields}


def request(request_id: str, first: dict[str, Any], *attachments: dict[str, Any]) -> SendRequest:
    return SendRequest.model_validate(
        {"request_id": request_id, "station": "MYCO", "partner": "acme", **first,
         "attachments": list(attachments)}
    )  # fmt: skip


async def names(bucket: ObjectStore) -> set[str]:
    try:
        return {info.name for info in await bucket.list()}
    except NotFoundError:  # an empty bucket
        return set()


async def rows_and_events(sessions: Sessions) -> tuple[dict[str, Message], list[dict[str, Any]]]:
    async with sessions() as session:
        rows = (await session.execute(sa.select(messages))).mappings().all()
        payloads = (await session.scalars(sa.select(outbox.c.payload).order_by(outbox.c.seq))).all()
    return {r["request_id"]: to_message(r) for r in rows}, [json.loads(p) for p in payloads]


async def test_small_inline_documents_stay_in_the_row_together_and_come_back_in_order(
    sessions: Sessions, nats_url: str
) -> None:
    bus = await open_bus(nats_url, name="test-attachments-kept")
    try:
        bucket = await documents_bucket(bus.js)
        store = DocumentStore(bucket, bus.js)
        published = await store.put("pub/b", b"%PDF" * 100)
        before = await names(bucket)
        accept = acceptor(sessions, store, keep_in_database_bytes=10)
        several = request(
            "several",
            inline(b"AAA", "a.edi"),
            {"document": published.model_dump(), "filename": "b.pdf",
             "content_type": "application/pdf"},
            inline(b"CCCCC", "c.xml", content_type="application/xml"),
            inline(b""),
        )  # fmt: skip
        # The first by reference, one small attachment: that one is kept in the row.
        mixed = request("mixed", {"document": published.model_dump()}, inline(b"DD", "d.edi"))
        assert await accept.accept(several) == "queued"
        assert await accept.accept(mixed) == "queued"
        added = await names(bucket) - before
    finally:
        await bus.close()
    assert added == set()  # 3 + 5 + 0 bytes inline together: within the 10 of the row
    rows, events = await rows_and_events(sessions)
    row = rows["several"]
    assert (row.document, row.content) == (None, b"AAACCCCC")
    assert documents_of(row) == [
        Document("a.edi", "application/edi-x12", 3, kept=b"AAA"),
        Document("b.pdf", "application/pdf", 400, ref=published),
        Document("c.xml", "application/xml", 5, kept=b"CCCCC"),
        Document(None, "application/edi-x12", 0, kept=b""),
    ]
    assert documents_of(rows["mixed"]) == [
        Document(None, "application/edi-x12", 400, ref=published),
        Document("d.edi", "application/edi-x12", 2, kept=b"DD"),
    ]
    queued = {e["data"]["request_id"]: e["data"] for e in events}
    assert (queued["several"]["size"], queued["several"]["document"]) == (3, None)
    assert queued["mixed"]["document"]["name"] == "pub/b"
    # MessageQueued lists the documents after the first for the track log, kept ones unnamed.
    assert [
        (a["filename"], a["size"], a["document"]) for a in queued["several"]["attachments"]
    ] == [
        ("b.pdf", 400, published.model_dump(mode="json")),
        ("c.xml", 5, None),
        (None, 0, None),
    ]


async def test_inline_documents_too_large_together_for_the_row_are_stored_one_object_each(
    sessions: Sessions, nats_url: str
) -> None:
    bus = await open_bus(nats_url, name="test-attachments-stored")
    try:
        bucket = await documents_bucket(bus.js)
        store = DocumentStore(bucket, bus.js)
        accept = acceptor(sessions, store, keep_in_database_bytes=5)
        # 4 and 2 bytes: each small enough for the row, too large together.
        two = request("two", inline(b"AAAA", "a.edi"), inline(b"BB", "b.edi"))
        assert await accept.accept(two) == "queued"
        added = await names(bucket)
        rows, _ = await rows_and_events(sessions)
        first, second = documents_of(rows["two"])
        assert first.ref is not None
        assert second.ref is not None
        assert (await store.get(first.ref), await store.get(second.ref)) == (b"AAAA", b"BB")
    finally:
        await bus.close()
    assert rows["two"].content is None
    assert added == {first.ref.name, second.ref.name}
    assert (first.filename, second.filename) == ("a.edi", "b.edi")


async def test_each_attachment_is_checked_like_the_first_document_and_named_when_refused(
    sessions: Sessions, nats_url: str
) -> None:
    bus = await open_bus(nats_url, name="test-attachments-refused")
    try:
        bucket = await documents_bucket(bus.js)
        store = DocumentStore(bucket, bus.js)
        good = (await store.put("pub/good", b"G" * 10)).model_dump()
        large = (await store.put("pub/large", b"L" * 10_001)).model_dump()
        before = await names(bucket)
        accept = acceptor(sessions, store, keep_in_database_bytes=0)
        first = inline(b"first", "first.edi")
        cases = {
            "missing": [inline(b"x", "b.edi"),
                        {"document": {**good, "name": "pub/none"}, "filename": "c.edi"}],
            "size": [{"document": {**good, "size": 11}}],
            "sha256": [{"document": {**good, "sha256": "f" * 64}, "filename": "b.pdf"}],
            "bucket": [{"document": {**good, "bucket": "elsewhere"}, "filename": "b.pdf"}],
            "inline-large": [inline(b"i" * 10_001, "big.edi")],
            "stored-large": [inline(b"x"), {"document": large, "filename": "big.pdf"}],
            "together": [inline(b"t" * 5_000), {"document": good}, inline(b"u" * 4_986, "u")],
        }  # fmt: skip
        for request_id, attachments in cases.items():
            assert await accept.accept(request(request_id, first, *attachments)) == "rejected"
        # The first document's problem is told first, without an attachment's name.
        first_missing = {"document": {**good, "name": "pub/gone"}}
        assert await accept.accept(request("first", first_missing, cases["size"][0])) == (
            "rejected"
        )
        added = await names(bucket) - before
    finally:
        await bus.close()
    rows, events = await rows_and_events(sessions)
    assert rows == {}
    assert added == set()  # nothing stored for a refused request
    refused = {e["data"]["request_id"]: (e["data"]["code"], e["data"]["reason"]) for e in events}
    assert refused == {
        "missing": ("DOCUMENT_NOT_FOUND", "attachments.1 ('c.edi'): no object 'pub/none' in the "
                    "bucket 'as2_documents'"),
        "size": ("DOCUMENT_MISMATCH", "attachments.0 (no filename): the object 'pub/good' has "
                 "10 bytes; the request says 11"),
        "sha256": ("DOCUMENT_MISMATCH", "attachments.0 ('b.pdf'): the object 'pub/good' has the "
                   f"SHA-256 {hashlib.sha256(b'G' * 10).hexdigest()}; the request says "
                   f"{'f' * 64}"),
        "bucket": ("DOCUMENT_NOT_FOUND", "attachments.0 ('b.pdf'): documents are read from the "
                   "bucket 'as2_documents', not 'elsewhere'"),
        "inline-large": ("DOCUMENT_TOO_LARGE",
                         "attachments.0 ('big.edi'): 10001 bytes; the limit is 10000"),
        "stored-large": ("DOCUMENT_TOO_LARGE",
                         "attachments.1 ('big.pdf'): 10001 bytes; the limit is 10000"),
        "together": ("DOCUMENT_TOO_LARGE",
                     "the 4 documents have 10001 bytes together; the limit is 10000"),
        "first": ("DOCUMENT_NOT_FOUND", "no object 'pub/gone' in the bucket 'as2_documents'"),
    }  # fmt: skip


async def test_attachments_are_part_of_the_request_a_request_id_stands_for(
    sessions: Sessions, nats_url: str
) -> None:
    bus = await open_bus(nats_url, name="test-attachments-dup")
    try:
        bucket = await documents_bucket(bus.js)
        store = DocumentStore(bucket, bus.js)
        accept = acceptor(sessions, store, keep_in_database_bytes=0)  # inline ones stored
        a, b, c = inline(b"A", "a.edi"), inline(b"B", "b.edi"), inline(b"C", "c.edi")
        outcomes = [
            await accept.accept(request("r", a, b, c)),
            await accept.accept(request("r", a, b, c)),  # the same again
            await accept.accept(request("r", a, c, b)),  # another order
            await accept.accept(request("r", a, b)),  # one fewer
            await accept.accept(request("r", a, b, inline(b"X", "c.edi"))),  # other content
        ]
        stored = await names(bucket)
    finally:
        await bus.close()
    assert outcomes == ["queued", "duplicate", "rejected", "rejected", "rejected"]
    assert len(stored) == 3  # one copy of each document: the repeat stored none
    rows, events = await rows_and_events(sessions)
    assert list(rows) == ["r"]
    assert [e["data"].get("code") for e in events[1:]] == ["REQUEST_ID_REUSED"] * 3
