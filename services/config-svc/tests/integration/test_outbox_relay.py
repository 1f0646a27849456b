"""Nothing is lost between the database commit and the publish, and nothing is doubled."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.config.adapters.relay import config_relay, mirror
from as2bus.config.adapters.tables import outbox
from as2bus.config.schemas import PartnerCreate, StationCreate
from as2bus.config.service import ConfigService
from as2bus.contracts import Deleted, StationDeleted
from as2bus.shared.bus import open_bus, publish_event
from as2bus.shared.bus.replica import config_bucket
from as2bus.shared.outbox import OutboxRelay
from as2bus.testing.services import ServiceProcess

from .conftest import payloads, service_env, wait_for_events

PARTNER = {"as2_id": "amazon", "name": "Amazon", "as2_url": "https://as2.example.com/as2"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_events_committed_before_a_crash_are_published_by_the_next_start(
    service: ConfigService,
    database_url: str,
    nats_url: str,
    master_key: str,
    js: JetStreamContext,
    tmp_path: Path,
) -> None:
    # The process "died" right after committing: the changes and their events are in the
    # database, nothing reached NATS.
    await service.create_station(StationCreate(as2_id="MYCO", name="My Co"))
    await service.create_partner(PartnerCreate.model_validate(PARTNER))
    assert await js.streams_info() == []  # nothing reached NATS, not even a stream

    env = service_env(nats_url, database_url, master_key)
    proc = ServiceProcess("as2bus.config", env, tmp_path / "config.log").start()
    try:
        events = payloads(await wait_for_events(js, 2))
    finally:
        proc.stop()
    assert [e["event_type"] for e in events] == ["StationCreated", "PartnerCreated"]
    kv = await js.key_value("as2_config")
    assert len(await kv.keys()) == 2


async def test_a_relay_that_dies_after_publishing_does_not_double_the_event(
    service: ConfigService,
    sessions: async_sessionmaker[AsyncSession],
    nats_url: str,
    js: JetStreamContext,
) -> None:
    await service.create_station(StationCreate(as2_id="MYCO", name="My Co"))
    async with sessions() as session:
        row = dict((await session.execute(sa.select(outbox))).one()._mapping)
    bus = await open_bus(nats_url, name="test-relay")
    try:
        relay = config_relay(sessions, bus.broker, await config_bucket(bus.js))
        assert await relay.drain_once() == 1
        # The crash window: published, but the row's delete never committed.
        async with sessions() as session, session.begin():
            await session.execute(sa.insert(outbox).values(row))
        assert await relay.drain_once() == 1
        assert await relay.drain_once() == 0
    finally:
        await bus.close()
    assert (await js.stream_info("AS2_EVENTS")).state.messages == 1
    # The bucket's own stream: one write, not two. (Its keys() watcher once found no key at
    # all in CI although the write was acknowledged: nats.py's keys() can miss some, and a
    # second write would have left the key count at one anyway.)
    assert (await js.stream_info("KV_as2_config")).state.messages == 1


async def test_the_same_event_published_again_is_dropped_by_jetstream(
    nats_url: str, js: JetStreamContext
) -> None:
    event = StationDeleted(data=Deleted(id=uuid.uuid4(), revision=2, as2_id="x"))
    bus = await open_bus(nats_url, name="dedup")
    try:
        first = await publish_event(bus.broker, event)
        again = await publish_event(bus.broker, event)
    finally:
        await bus.close()
    assert not first.duplicate
    assert again.duplicate
    assert (await js.stream_info("AS2_EVENTS")).state.messages == 1


async def test_the_bucket_never_goes_back_to_an_older_revision(nats_url: str) -> None:
    bus = await open_bus(nats_url, name="mirror")
    try:
        kv = await config_bucket(bus.js)
        key = f"partner.{uuid.uuid4()}"
        await mirror(kv, key, json.dumps({"revision": 2, "name": "new"}), 2)
        await mirror(kv, key, json.dumps({"revision": 1, "name": "old"}), 1)
        assert json.loads((await kv.get(key)).value or b"{}")["name"] == "new"
        await mirror(kv, key, None, 3)
        await mirror(kv, key, json.dumps({"revision": 2, "name": "late"}), 2)
        with pytest.raises(KeyNotFoundError):
            await kv.get(key)
    finally:
        await bus.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_replicas_sharing_an_outbox_take_turns_and_keep_the_order(
    service: ConfigService, sessions: async_sessionmaker[AsyncSession], nats_url: str
) -> None:
    for n in range(30):
        await service.create_station(StationCreate(as2_id=f"ST{n}", name=f"Station {n}"))
    published: list[int] = []

    async def record(row: sa.Row[Any]) -> None:
        published.append(row.seq)
        await asyncio.sleep(0.005)  # a publish takes time: the other replica tries meanwhile

    async def left() -> int:
        async with sessions() as session:
            return int(await session.scalar(sa.select(sa.func.count()).select_from(outbox)) or 0)

    async def replica(relay: OutboxRelay) -> None:
        while await left():
            await relay.drain_once()
            await asyncio.sleep(0)  # a turn for the other replica, not a wait for anything

    bus = await open_bus(nats_url, name="test-relay")
    try:
        relays = [
            OutboxRelay(sessions, bus.broker, outbox, service="config", on_published=record,
                        batch_size=4)
            for _ in range(2)
        ]  # fmt: skip
        await asyncio.wait_for(asyncio.gather(*(replica(r) for r in relays)), timeout=60)
    finally:
        await bus.close()
    assert len(published) == 30  # each row once: no replica published another's batch
    assert published == sorted(published)


async def test_a_pipelined_batch_reaches_the_stream_in_outbox_order_once(
    service: ConfigService,
    sessions: async_sessionmaker[AsyncSession],
    nats_url: str,
    js: JetStreamContext,
) -> None:
    """Without a step after each publish, a batch is published at once (one write, acks
    together): JetStream still stores it in ``seq`` order, and a second pass over the same
    rows (a relay that died before deleting them) adds no copy."""
    for n in range(40):
        await service.create_station(StationCreate(as2_id=f"ST{n}", name=f"Station {n}"))
    bus = await open_bus(nats_url, name="test-relay-pipelined")
    try:
        relay = OutboxRelay(sessions, bus.broker, outbox, service="config", batch_size=100)
        async with sessions() as session:
            rows = list((await session.execute(sa.select(outbox).order_by(outbox.c.seq))).all())
        await relay._publish(rows)  # published, not yet deleted: as if the relay died here
        assert await relay.drain_once() == 40  # the next pass: the same rows again, deleted
        events = payloads(await wait_for_events(js, 40))
        # No wait for a late copy: each publish was acknowledged (stored, or dropped as a
        # duplicate) before drain_once returned, so what the stream holds now is final.
        total = (await js.stream_info("AS2_EVENTS")).state.messages
    finally:
        await bus.close()
    assert [e["data"]["as2_id"] for e in events] == [f"ST{n}" for n in range(40)]
    assert total == 40


async def test_a_relay_waits_for_more_events_only_while_they_come_fast(
    service: ConfigService,
    sessions: async_sessionmaker[AsyncSession],
    nats_url: str,
    js: JetStreamContext,
) -> None:
    """After a pass that found a few rows, a wake-up is served at once: waiting for more
    would only cost a timer's wake-up. After a pass that found many (a burst), it waits
    ``gather_seconds`` so that one pass takes what the next commits add."""
    bus = await open_bus(nats_url, name="test-relay-gather")
    relay = OutboxRelay(
        sessions, bus.broker, outbox, service="config", idle_seconds=60, gather_seconds=30
    )
    running = asyncio.create_task(relay.run())

    async def station(n: int) -> None:
        await service.create_station(StationCreate(as2_id=f"ST{n}", name=f"Station {n}"))

    async def stored() -> int:
        return (await js.stream_info("AS2_EVENTS")).state.messages

    try:
        await station(0)
        relay.wake()
        await wait_for_events(js, 1, timeout=5)  # not after 30 s
        for n in range(1, 6):
            await station(n)
        relay.wake()
        await wait_for_events(js, 6, timeout=5)  # one pass of five: busy
        await station(6)
        relay.wake()
        await asyncio.sleep(1)
        assert await stored() == 6  # gathering for the rest of a burst
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await bus.close()
