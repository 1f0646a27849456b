"""The projection fed by a real JetStream consumer, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import nats
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.contracts import Event
from as2bus.shared.db import create_engine, session_factory
from as2bus.testing.tracklog import T0, in_memory, inbound, outbound, rejected
from as2bus.tracklog.adapters.repository import load_messages
from as2bus.tracklog.adapters.tables import timeline
from as2bus.tracklog.entrypoints.bus import Consumer
from as2bus.tracklog.service import Projector, StatusChange

from .conftest import publish


def stream_of_events() -> list[Event]:
    return [
        *outbound("<a@myco>", retries=2, mdn_mode="async"),
        *outbound("<b@myco>", mdn="processed/warning", at=T0 + timedelta(minutes=1)),
        *outbound("<c@myco>", fail="CERT_HAS_EXPIRED: acme's certificate expired"),
        *inbound("<p@acme>", duplicates=2),
        *inbound("<q@globex>", partner="globex", mdn_mode="async", mdn_delivered=False),
        rejected(direction="inbound", message_id="<r@acme>"),
        rejected(direction="outbound", request_id="req-refused", code="UNKNOWN_PARTNERSHIP"),
    ]


async def project(nats_url: str, url: str, durable: str = "test") -> list[StatusChange]:
    engine = create_engine(url)
    changes: list[StatusChange] = []
    nc = await nats.connect(nats_url)
    try:
        projector = Projector(session_factory(engine), on_changes=changes.extend)
        consumer = Consumer(nc.jetstream(), projector, durable=durable, batch_size=7)
        await consumer.run(until_caught_up=True)
    finally:
        await nc.close()
        await engine.dispose()
    return changes


async def test_events_in_any_order_and_redelivered_give_the_right_rows(
    nats_url: str, migrated: str
) -> None:
    events = stream_of_events()
    shuffled = random.Random(3).sample(events, k=len(events))  # out of order on the stream
    await publish(nats_url, shuffled, again=events[::4])  # and some delivered twice
    changes = await project(nats_url, migrated)

    expected = in_memory(events)
    engine = create_engine(migrated)
    async with session_factory(engine)() as session:
        rows = await load_messages(session, list(expected))
        entries = (await session.execute(sa.select(timeline))).mappings().all()
    await engine.dispose()
    assert rows == expected
    assert len(entries) == len(events)
    statuses = {row.message_id or row.request_id: row.status for row in rows.values()}
    assert statuses == {
        "<a@myco>": "delivered", "<b@myco>": "delivered-with-warnings", "<c@myco>": "failed",
        "<p@acme>": "mdn-sent", "<q@globex>": "mdn-failed", "<r@acme>": "rejected",
        "req-refused": "rejected",
    }  # fmt: skip
    assert {c.status for c in changes if c.message_id == "<a@myco>"} >= {"delivered"}


async def test_a_lifecycle_as_it_happens_and_its_timeline(nats_url: str, migrated: str) -> None:
    events = outbound("<a@myco>", retries=1, mdn_mode="async")
    seen: list[str] = []
    for n, event in enumerate(events):
        await publish(nats_url, [event])
        changes = await project(nats_url, migrated)
        seen += [c.status for c in changes]
        assert len(changes) == 1, (n, changes)
    assert seen == ["queued", "retrying", "sent", "delivered"]
    assert [c.previous_status for c in changes] == ["sent"]

    engine = create_engine(migrated)
    async with engine.connect() as conn:
        query = sa.select(timeline.c.event_type, timeline.c.summary).order_by(
            timeline.c.occurred_at
        )
        rows = (await conn.execute(query)).all()
    await engine.dispose()
    assert [r.event_type for r in rows] == [
        "MessageQueued", "MessageRetrying", "MessageSent", "MdnReceived",
    ]  # fmt: skip
    assert rows[0].summary == "queued for acme: invoice.edi (1234 bytes)"
    assert rows[3].summary.startswith("MDN (async): processed, signature valid, MIC matches")


class FailsOnce(Projector):
    """Fails its first batch after writing it, as a database error at commit would.
    (``Projector._save`` is static, so the flag is the class's: one FailsOnce at a time.)"""

    failed = False

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions)
        FailsOnce.failed = False

    @staticmethod
    async def _save(*args: Any) -> None:
        await Projector._save(*args)
        if not FailsOnce.failed:
            FailsOnce.failed = True
            raise RuntimeError("the database went away")


async def test_a_failed_batch_is_retried_whole_and_unknown_events_are_skipped(
    nats_url: str, migrated: str
) -> None:
    events = outbound("<a@myco>", retries=1)
    await publish(nats_url, events[:2])
    nc = await nats.connect(nats_url)
    unknown = b'{"event_type": "MessageTeleported", "event_id": "%s"}' % str(uuid.uuid4()).encode()
    await nc.jetstream().publish("as2.evt.message.outbound.teleported", unknown)
    await nc.close()
    await publish(nats_url, events[2:])

    engine = create_engine(migrated)
    projector = FailsOnce(session_factory(engine))
    nc = await nats.connect(nats_url)
    consumer = Consumer(nc.jetstream(), projector, durable="t", batch_size=3, retry_seconds=0.1)
    applied = await consumer.run(until_caught_up=True)
    await nc.close()
    assert projector.failed
    assert applied == len(events)
    expected = in_memory(events)
    async with session_factory(engine)() as session:
        assert await load_messages(session, list(expected)) == expected
    await engine.dispose()
