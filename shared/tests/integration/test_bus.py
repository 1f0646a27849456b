"""Bus helpers against a real JetStream server, and the idempotency helper on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import nats
import sqlalchemy as sa
from nats.js.api import RetentionPolicy

from as2bus.contracts import PartnerState
from as2bus.contracts.subjects import COMMANDS_STREAM, EVENTS_STREAM
from as2bus.shared.bus import ensure_streams
from as2bus.shared.bus.idempotency import first_delivery, processed_events_table
from as2bus.shared.bus.replica import ConfigReplica, config_bucket
from as2bus.shared.db import create_engine, new_metadata, session_factory
from as2bus.shared.settings import StreamSettings
from as2bus.testing.waiting import until


async def test_streams_are_declared_idempotently_and_follow_retention_settings(
    nats_url: str,
) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        await ensure_streams(js, StreamSettings())
        await ensure_streams(js, StreamSettings())  # a second replica starting
        events = await js.stream_info(EVENTS_STREAM)
        commands = await js.stream_info(COMMANDS_STREAM)
        assert events.config.subjects == ["as2.evt.>"]
        assert commands.config.retention == RetentionPolicy.WORK_QUEUE
        assert events.config.duplicate_window == 120

        await ensure_streams(js, StreamSettings(max_age_days=7, max_msgs=1000))
        updated = await js.stream_info(EVENTS_STREAM)
        assert updated.config.max_age == 7 * 86400
        assert updated.config.max_msgs == 1000
    finally:
        await nc.close()


def partner(partner_id: uuid.UUID, revision: int, name: str) -> PartnerState:
    now = datetime.now(UTC)
    return PartnerState(
        id=partner_id, revision=revision, as2_id="amazon", name=name, as2_alias="amazon",
        as2_url="https://as2.example.com/", created_at=now, updated_at=now,
    )  # fmt: skip


def blob(partner_id: uuid.UUID, revision: int, name: str) -> bytes:
    return partner(partner_id, revision, name).model_dump_json().encode()


async def test_a_replica_loads_the_current_state_then_follows_changes(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    kv = await config_bucket(js)
    existing, later = uuid.uuid4(), uuid.uuid4()
    await kv.put(f"partner.{existing}", blob(existing, 1, "Before start"))
    await kv.put("future.thing", b"{}")  # a key a newer version might write: ignored
    replica = ConfigReplica()
    try:
        await replica.start(js)
        assert replica.partners[existing].name == "Before start"

        await kv.put(f"partner.{later}", blob(later, 1, "Added"))
        await until(lambda: later in replica.partners, what="the later partner", timeout=5)
        await kv.put(f"partner.{existing}", blob(existing, 2, "Renamed"))
        await until(lambda: replica.partners[existing].name == "Renamed", what="the rename")
        await kv.delete(f"partner.{existing}")
        await until(lambda: existing not in replica.partners, what="the deletion")
    finally:
        await replica.stop()
        await nc.close()


async def test_catching_up_sees_every_change_stored_before_the_call(nats_url: str) -> None:
    """Right after a write, the replica may not have it yet; ``catch_up`` waits until it has,
    and a replica not started says it could not."""
    assert await ConfigReplica().catch_up() is False
    nc = await nats.connect(nats_url)
    kv = await config_bucket(nc.jetstream())
    replica = ConfigReplica()
    try:
        await replica.start(nc.jetstream())
        for _ in range(20):
            fresh = uuid.uuid4()
            await kv.put(f"partner.{fresh}", blob(fresh, 1, "Just now"))
            assert await replica.catch_up() is True
            assert fresh in replica.partners
        gone = next(iter(replica.partners))
        await kv.delete(f"partner.{gone}")
        assert await replica.catch_up() is True
        assert gone not in replica.partners
    finally:
        await replica.stop()
        await nc.close()


def test_a_stale_update_does_not_overwrite_a_newer_one() -> None:
    replica = ConfigReplica()
    pid = uuid.uuid4()
    replica.apply(f"partner.{pid}", blob(pid, 3, "new"), deleted=False)
    replica.apply(f"partner.{pid}", blob(pid, 2, "old"), deleted=False)
    assert replica.partners[pid].name == "new"


async def test_an_event_is_processed_once_however_often_it_is_delivered(database_url: str) -> None:
    metadata = new_metadata()
    processed = processed_events_table(metadata)
    effects = sa.Table("effects", metadata, sa.Column("n", sa.Integer, primary_key=True))
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    event_id = uuid.uuid4()
    outcomes = []
    for delivery in range(3):  # JetStream redelivers: the same event three times
        async with sessions() as session, session.begin():
            first = await first_delivery(session, processed, event_id)
            outcomes.append(first)
            if first:
                await session.execute(sa.insert(effects).values(n=delivery))
    async with sessions() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(effects))
    await engine.dispose()
    assert outcomes == [True, False, False]
    assert count == 1
