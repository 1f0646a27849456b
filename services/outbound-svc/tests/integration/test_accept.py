"""Acceptance checks in-process, against the real object store and database."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.outbound.accept import Acceptor
from as2bus.outbound.adapters.tables import outbox
from as2bus.shared.bus import open_bus
from as2bus.shared.bus.documents import DocumentStore, documents_bucket
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.contracts import PartnershipState, PartnerState, SendRequest, StationState

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def replica() -> ConfigReplica:
    config = ConfigReplica()
    station = StationState(
        id=uuid.uuid4(),
        revision=1,
        as2_id="MYCO",
        name="Me",
        private_key_alias="myco",
        created_at=NOW,
        updated_at=NOW,
    )
    partner = PartnerState(
        id=uuid.uuid4(),
        revision=1,
        as2_id="acme",
        name="Acme",
        as2_alias="acme",
        as2_url="http://x/as2",
        created_at=NOW,
        updated_at=NOW,
    )
    link = PartnershipState(
        id=uuid.uuid4(),
        revision=1,
        station_id=station.id,
        partner_id=partner.id,
        station_as2_id="MYCO",
        partner_as2_id="acme",
        created_at=NOW,
        updated_at=NOW,
    )
    config.stations[station.id], config.partners[partner.id], config.partnerships[link.id] = (
        station,
        partner,
        link,
    )
    return config


async def test_documents_over_the_limit_are_refused_before_anything_else(
    sessions: async_sessionmaker[AsyncSession], nats_url: str
) -> None:
    bus = await open_bus(nats_url, name="test-accept")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        big = await store.put("out/big", b"x" * 2048)
        acceptor = Acceptor(
            sessions,
            replica(),
            keys=None,  # type: ignore[arg-type]  (never reached)
            documents=store,
            max_document_bytes=1024,
            clock=lambda: NOW,
            after_commit=lambda: None,
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
