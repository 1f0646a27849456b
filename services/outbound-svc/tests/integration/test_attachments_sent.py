"""A message with attachments from acceptance to the partner and out of the object store
(real NATS object store, SQLite and PostgreSQL): the row written at acceptance gives the
sender every document in order, streamed chunk by chunk from the store or built in memory, and
the retention deletes the attachments' objects with the first document's."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty
from as2bus.contracts import SendRequest
from as2bus.contracts.documents import documents_bucket
from as2bus.outbound.accept import Acceptor
from as2bus.outbound.adapters.repository import to_message, units_of_work
from as2bus.outbound.adapters.retention import SentDocuments
from as2bus.outbound.adapters.tables import messages
from as2bus.outbound.domain.documents import documents_of
from as2bus.outbound.parties import Sides
from as2bus.outbound.posting import Upload
from as2bus.outbound.sending import Policy, Sender
from as2bus.shared.bus import open_bus
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.keyring import KeyRing
from as2bus.testing.config_states import paired_replica, partner_state, station_state

NOW = datetime(2026, 6, 1, tzinfo=UTC)
#: Larger than the store's 128 KiB chunks: each is read in several pieces.
FIRST = b"ISA*first~\r\n" * 30_000
SECOND = bytes(range(256)) * 900
KEPT = b"<small/>"


class NoKeys:
    async def keyring(self) -> KeyRing:
        return KeyRing([])


def plain() -> tuple[Any, Sides]:
    station = station_state("MYCO", name="Me")
    partner = partner_state("acme", name="Acme", as2_url="http://x/as2", signing_alg=None,
                            encryption_alg=None, mdn_mode="none")  # fmt: skip
    remote = RemoteParty("acme", signing=None, encryption=None, mdn_mode=None)
    sides = Sides(station, partner, LocalParty("MYCO", signing=None), remote)
    return paired_replica(station, partner), sides


def parsed(headers: dict[str, str], body: bytes) -> list[tuple[str | None, str, bytes]]:
    def lookup(as2_from: str, as2_to: str) -> tuple[LocalParty, RemoteParty]:
        them = RemoteParty(as2_from, require_signed=False, require_encrypted=False)
        return LocalParty(as2_to, None), them

    message = as2.parse_message(headers, body, lookup=lookup)
    return [
        (message.filename, message.content_type, message.payload),
        *((a.filename, a.content_type, a.payload) for a in message.attachments),
    ]


@pytest.mark.parametrize("stream_bytes", [1, 10**9], ids=["streamed", "in-memory"])
async def test_the_row_gives_the_sender_every_document_and_the_retention_takes_them_away(
    sessions: async_sessionmaker[AsyncSession], nats_url: str, stream_bytes: int
) -> None:
    config, sides = plain()
    bus = await open_bus(nats_url, name="test-attachments-sent")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        first = await store.put("pub/first", FIRST)
        second = await store.put("pub/second", SECOND)
        acceptor = Acceptor(
            units_of_work(sessions), config, NoKeys(), store,  # type: ignore[arg-type]
            max_document_bytes=10**7, keep_in_database_bytes=1000,
            clock=lambda: NOW,
        )  # fmt: skip
        request = SendRequest.model_validate(
            {"request_id": "r", "station": "MYCO", "partner": "acme", "filename": "first.edi",
             "document": first.model_dump(),
             "attachments": [
                 {"document": second.model_dump(), "filename": "second.bin",
                  "content_type": "application/octet-stream"},
                 {"inline_base64": base64.b64encode(KEPT).decode(), "filename": "kept.xml",
                  "content_type": "application/xml"},
             ]}
        )  # fmt: skip
        assert await acceptor.accept(request) == "queued"
        async with sessions() as session:
            row = to_message((await session.execute(sa.select(messages))).mappings().one())

        policy = Policy(
            max_attempts=1, backoff_seconds=1, backoff_max_seconds=1,
            async_mdn_deadline=timedelta(hours=1), async_mdn_url=None,
            stream_bytes=stream_bytes, keep_sent_messages=False,
        )  # fmt: skip
        sender = Sender(
            units_of_work(sessions), config, NoKeys(), store, None, policy,  # type: ignore[arg-type]
            clock=lambda: NOW,
        )  # fmt: skip
        built, body = await sender._build(row, sides, documents_of(row))
        if stream_bytes == 1:
            assert isinstance(body, Upload)
            sent = b"".join([piece async for piece in body])
        else:
            assert isinstance(body, bytes)
            sent = body
        assert parsed(built.headers, sent) == [
            ("first.edi", "application/edi-x12", FIRST),
            ("second.bin", "application/octet-stream", SECOND),
            ("kept.xml", "application/xml", KEPT),
        ]

        # Settled a day ago: past a retention of an hour, every stored document goes.
        async with sessions() as session, session.begin():
            await session.execute(
                sa.update(messages).values(status="delivered", content=None, updated_at=NOW)
            )
        purge = SentDocuments(
            sessions, store, timedelta(hours=1), clock=lambda: NOW + timedelta(days=1)
        )
        assert await purge.purge() == 1
        assert (await store.stored("pub/first"), await store.stored("pub/second")) == (None, None)
    finally:
        await bus.close()
