"""Acceptance checks in-process, against the real object store and database."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.contracts import MAX_INLINE_BYTES, SendRequest
from as2bus.contracts.documents import documents_bucket
from as2bus.outbound.accept import Acceptor
from as2bus.outbound.adapters.repository import units_of_work
from as2bus.outbound.adapters.tables import messages, outbox
from as2bus.outbound.settings import OutboundSettings
from as2bus.shared.bus import open_bus
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.keyring import KeyRing
from as2bus.testing.config_states import paired_replica, partner_state, station_state

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def replica(**partner_settings: object) -> ConfigReplica:
    return paired_replica(
        station_state("MYCO", name="Me"),
        partner_state("acme", name="Acme", as2_url="http://x/as2", **partner_settings),
    )


async def test_documents_over_the_limit_are_refused_before_anything_else(
    sessions: async_sessionmaker[AsyncSession], nats_url: str
) -> None:
    bus = await open_bus(nats_url, name="test-accept")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        big = await store.put("out/big", b"x" * 2048)
        acceptor = Acceptor(
            units_of_work(sessions),
            replica(),
            keys=None,  # type: ignore[arg-type]  # never reached: refused before
            documents=store,
            max_document_bytes=1024,
            clock=lambda: NOW,
        )
        by_ref = SendRequest(request_id="r1", station="MYCO", partner="acme", document=big)
        inline = SendRequest(
            request_id="r2",
            station="MYCO",
            partner="acme",
            inline_base64=base64.b64encode(b"y" * 1500).decode(),
        )
        assert await acceptor.accept(by_ref) == "rejected"
        assert await acceptor.accept(inline) == "rejected"
    finally:
        await bus.close()
    async with sessions() as session:
        payloads = [
            json.loads(p) for p in (await session.scalars(sa.select(outbox.c.payload))).all()
        ]
    assert [(p["data"]["modifier"], p["data"]["request_id"]) for p in payloads] == [
        ("DOCUMENT_TOO_LARGE", "r1"),
        ("DOCUMENT_TOO_LARGE", "r2"),
    ]
    assert "2048 bytes; the limit is 1024" in payloads[0]["data"]["reason"]


class NoKeys:
    """A partnership that neither signs, encrypts nor asks for an MDN needs no key material."""

    async def keyring(self) -> KeyRing:
        return KeyRing([])


def plain_replica() -> ConfigReplica:
    return replica(signing_alg=None, encryption_alg=None, mdn_mode="none")


def plain_acceptor(
    sessions: async_sessionmaker[AsyncSession],
    config: ConfigReplica,
    store: DocumentStore,
    *,
    keep_in_database_bytes: int,
    max_document_bytes: int = 10_000,
) -> Acceptor:
    return Acceptor(
        units_of_work(sessions),
        config,
        keys=NoKeys(),  # type: ignore[arg-type]
        documents=store,
        max_document_bytes=max_document_bytes,
        keep_in_database_bytes=keep_in_database_bytes,
        clock=lambda: NOW,
    )


def inline(request_id: str, data: bytes) -> SendRequest:
    return SendRequest(
        request_id=request_id,
        station="MYCO",
        partner="acme",
        inline_base64=base64.b64encode(data).decode(),
    )


async def stored_names(bucket: ObjectStore) -> set[str]:
    try:
        return {info.name for info in await bucket.list()}
    except NotFoundError:  # an empty bucket
        return set()


async def test_small_inline_documents_stay_in_the_row_and_larger_ones_go_to_the_store(
    sessions: async_sessionmaker[AsyncSession], nats_url: str
) -> None:
    """Up to keep_in_database_bytes the document is kept in the message's row (no object-store
    round trips); above it, it is stored and the row holds the reference."""
    bus = await open_bus(nats_url, name="test-accept-kept")
    try:
        bucket = await documents_bucket(bus.js)
        store = DocumentStore(bucket, bus.js)
        before = await stored_names(bucket)
        acceptor = plain_acceptor(sessions, plain_replica(), store, keep_in_database_bytes=1000)
        assert await acceptor.accept(inline("small", b"s" * 1000)) == "queued"
        assert await acceptor.accept(inline("large", b"L" * 1001)) == "queued"
        added = await stored_names(bucket) - before
    finally:
        await bus.close()
    async with sessions() as session:
        rows = {
            r.request_id: r
            for r in (await session.execute(sa.select(messages))).all()
            if r.request_id in ("small", "large")
        }
        events = [
            json.loads(p)["data"]
            for p in (await session.scalars(sa.select(outbox.c.payload))).all()
        ]
    assert rows["small"].content == b"s" * 1000
    assert rows["small"].document is None
    assert rows["large"].content is None
    assert [rows["large"].document["name"]] == sorted(added)
    queued = {e["request_id"]: e for e in events}
    assert (queued["small"]["document"], queued["small"]["size"]) == (None, 1000)
    assert queued["large"]["document"]["name"] == rows["large"].document["name"]
    assert queued["large"]["size"] == 1001


async def test_by_default_the_largest_inline_document_stays_in_the_row(
    sessions: async_sessionmaker[AsyncSession], nats_url: str
) -> None:
    """Through the object store, a 100 KB inline document cost nats-server about 5 ms of CPU
    (benchmarks, finding 23): by default none goes there."""
    data = b"x" * MAX_INLINE_BYTES
    bus = await open_bus(nats_url, name="test-accept-default")
    try:
        bucket = await documents_bucket(bus.js)
        store = DocumentStore(bucket, bus.js)
        before = await stored_names(bucket)
        acceptor = plain_acceptor(
            sessions,
            plain_replica(),
            store,
            keep_in_database_bytes=OutboundSettings().keep_in_database_bytes,
            max_document_bytes=MAX_INLINE_BYTES,
        )
        assert await acceptor.accept(inline("largest-inline", data)) == "queued"
        added = await stored_names(bucket) - before
    finally:
        await bus.close()
    async with sessions() as session:
        row = (
            await session.execute(
                sa.select(messages.c.content, messages.c.document).where(
                    messages.c.request_id == "largest-inline"
                )
            )
        ).one()
    assert (row.content, row.document, added) == (data, None, set())


async def test_a_repeated_request_is_a_duplicate_with_one_row_one_event_one_stored_copy(
    sessions: async_sessionmaker[AsyncSession], nats_url: str
) -> None:
    bus = await open_bus(nats_url, name="test-accept-dup")
    try:
        bucket = await documents_bucket(bus.js)
        store = DocumentStore(bucket, bus.js)
        before = await stored_names(bucket)
        acceptor = plain_acceptor(sessions, plain_replica(), store, keep_in_database_bytes=100)
        outcomes = [
            await acceptor.accept(inline(request_id, data))
            for request_id, data in [("kept", b"k"), ("stored", b"t" * 500)] * 2
        ]
        added = await stored_names(bucket) - before
        # The partnership is gone since: a repeat is still a duplicate, not a rejection.
        gone = plain_acceptor(sessions, ConfigReplica(), store, keep_in_database_bytes=0)
        repeat_after_change = await gone.accept(inline("kept", b"k"))
    finally:
        await bus.close()
    assert outcomes == ["queued", "queued", "duplicate", "duplicate"]
    assert repeat_after_change == "duplicate"
    assert len(added) == 1  # the stored document's repeat did not store a second copy
    async with sessions() as session:
        ids = (await session.scalars(sa.select(messages.c.request_id))).all()
        events = (await session.scalars(sa.select(outbox.c.payload))).all()
    assert sorted(ids) == ["kept", "stored"]
    assert sorted(json.loads(e)["event_type"] for e in events) == ["MessageQueued"] * 2
