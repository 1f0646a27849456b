"""One contract, three stores: the in-memory fake the use cases' unit tests run on, and the
SQL unit of work on SQLite and on PostgreSQL. The same tests run against each, so the fake
cannot promise what the database does not keep (or the other way round)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.contracts import AttemptStarted, Event, MessageRetrying, parse_event
from as2bus.outbound.adapters.claims import Claims, Limits
from as2bus.outbound.adapters.repository import units_of_work
from as2bus.outbound.adapters.tables import outbox
from as2bus.outbound.domain import Message
from as2bus.outbound.ports import DuplicateRequestError, UnitOfWork
from as2bus.shared.db import create_engine, session_factory, upgrade_database

from ..fakes import MessageStore, fake_units_of_work
from ..unit.messages import LEASE, T0, in_state, queued

MIGRATIONS = "as2bus.outbound:migrations"
LATER = T0 + timedelta(minutes=1)


@dataclass
class Store:
    """A unit-of-work factory, and what it has committed: events and commits."""

    units: Callable[[], UnitOfWork]
    events: Callable[[], Awaitable[list[Event]]]
    commits: list[int]


async def migrated(url: str) -> async_sessionmaker[AsyncSession]:
    await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
    return session_factory(create_engine(url))


@pytest.fixture(params=["fake", "sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    commits: list[int] = []
    if request.param == "fake":
        memory = MessageStore()

        async def held() -> list[Event]:
            return list(memory.events)

        yield Store(fake_units_of_work(memory, lambda: commits.append(1)), held, commits)
        return
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    sessions = await migrated(str(request.getfixturevalue(fixture)))

    async def relayed() -> list[Event]:
        async with sessions() as session:
            rows = await session.scalars(sa.select(outbox.c.payload).order_by(outbox.c.seq))
            return [parse_event(row) for row in rows.all()]

    yield Store(units_of_work(sessions, after_commit=lambda: commits.append(1)), relayed, commits)
    await sessions.kw["bind"].dispose()


async def add(store: Store | Callable[[], UnitOfWork], *messages: Message) -> None:
    units = store.units if isinstance(store, Store) else store
    async with units() as uow:
        for message in messages:
            await uow.messages.add(message)
        await uow.commit()


async def read(store: Store, message_id: str) -> Message:
    async with store.units() as uow:
        found = await uow.messages.get(message_id)
    assert found is not None
    return found


def fields(message: Message) -> dict[str, Any]:
    return {k: v for k, v in message.__dict__.items() if k != "persisted"}


async def test_a_message_comes_back_as_it_was_added(store: Store) -> None:
    attachment = {"filename": "b.csv", "content_type": "text/csv", "size": 0, "document": None}
    message = queued(attachments=[attachment], overrides={"mdn_mode": "async"})
    await add(store, message)
    async with store.units() as uow:
        by_id = await uow.messages.get(message.message_id)
        by_request = await uow.messages.of_request(message.request_id)
        nothing = await uow.messages.get("<nobody@x>")
    assert nothing is None
    for found in (by_id, by_request):
        assert found is not None
        assert fields(found) == fields(message)
        assert found.persisted == ("queued", 0)
    assert store.commits == [1]


async def test_nothing_is_kept_without_a_commit(store: Store) -> None:
    message = queued()
    async with store.units() as uow:
        await uow.messages.add(message)
        uow.publish(message.claim(T0, LEASE))
    async with store.units() as uow:
        assert await uow.messages.get(message.message_id) is None
    assert await store.events() == []
    assert store.commits == []


async def test_a_request_id_is_taken_once(store: Store) -> None:
    first = queued(request_id="order-1")
    await add(store, first)
    with pytest.raises(DuplicateRequestError):
        async with store.units() as uow:
            await uow.messages.add(queued(request_id="order-1"))
    async with store.units() as uow:
        found = await uow.messages.of_request("order-1")
    assert found is not None
    assert found.message_id == first.message_id


async def test_changes_and_their_events_are_committed_together(store: Store) -> None:
    message = queued()
    await add(store, message)
    claimed = await read(store, message.message_id)
    async with store.units() as uow:
        started = claimed.claim(T0, LEASE)
        assert await uow.messages.save(claimed)
        uow.publish(started)
        await uow.commit()
    assert claimed.persisted == ("sending", 1)
    stored = await read(store, message.message_id)
    assert (stored.status, stored.attempts, stored.lease_until) == ("sending", 1, T0 + LEASE)
    (event,) = await store.events()
    assert isinstance(event, AttemptStarted)
    assert (event.data.message_id, event.data.attempt) == (message.message_id, 1)


async def test_a_save_finds_the_version_it_read_or_changes_nothing(store: Store) -> None:
    """Two replicas read the same attempt; the one whose lease ran out cannot overwrite."""
    message = in_state("sending", attempts=1)
    await add(store, message)
    ours, theirs = await read(store, message.message_id), await read(store, message.message_id)
    async with store.units() as uow:
        theirs.claim(T0 + LEASE + timedelta(seconds=1), LEASE)  # our lease ran out
        assert await uow.messages.save(theirs)
        await uow.commit()
    async with store.units() as uow:
        ours.fail("late", "our outcome, too late", LATER)
        assert not await uow.messages.save(ours)
        await uow.commit()
    stored = await read(store, message.message_id)
    assert (stored.status, stored.attempts, stored.last_error) == ("sending", 2, None)


async def test_a_settled_message_keeps_its_document_for_downloads_and_resends(
    store: Store,
) -> None:
    """It dropped the document kept in its row once settled: the console could then neither
    download nor resend an ordinary (small, inline) document."""
    retried, failed = in_state("sending", content=b"EDI"), in_state("sending", content=b"EDI")
    await add(store, retried, failed)
    one, two = await read(store, retried.message_id), await read(store, failed.message_id)
    async with store.units() as uow:
        event = one.retry("HTTP 503", LATER, T0)
        two.fail("partner-refused", "HTTP 400", T0)
        assert await uow.messages.save(one)
        assert await uow.messages.save(two)
        uow.publish(event)
        await uow.commit()
    kept, dropped = await read(store, retried.message_id), await read(store, failed.message_id)
    assert (kept.status, kept.content, kept.next_attempt_at) == ("retrying", b"EDI", LATER)
    assert (dropped.status, dropped.content, dropped.last_error) == ("failed", b"EDI", "HTTP 400")
    assert [type(e) for e in await store.events()] == [MessageRetrying]


async def test_overdue_mdns_are_the_awaiting_ones_past_their_deadline(store: Store) -> None:
    late = in_state("awaiting-mdn", mdn_deadline=T0 - timedelta(seconds=1))
    in_time = in_state("awaiting-mdn", mdn_deadline=T0 + timedelta(seconds=1))
    settled = in_state("failed", mdn_deadline=T0 - timedelta(hours=1))
    await add(store, late, in_time, settled)
    async with store.units() as uow:
        overdue = await uow.messages.mdn_overdue(T0)
    assert [m.message_id for m in overdue] == [late.message_id]
    assert overdue[0].persisted == ("awaiting-mdn", 1)


@pytest.mark.parametrize(
    ("status", "due_in", "lease_in"),
    [
        ("queued", -1, None),
        ("queued", 1, None),
        ("retrying", 0, None),
        ("retrying", 5, None),
        ("sending", None, -1),
        ("sending", None, 1),
        ("awaiting-mdn", -10, None),
        ("delivered", -10, None),
        ("failed", -10, None),
    ],
    ids=lambda v: str(v),
)
async def test_the_claims_take_what_the_domain_calls_due(
    database_url: str, status: str, due_in: int | None, lease_in: int | None
) -> None:
    """Claims picks due messages in SQL; Message.is_due says the same in Python."""

    def at(seconds: int | None) -> datetime | None:
        return T0 + timedelta(seconds=seconds) if seconds is not None else None

    message = in_state(status, next_attempt_at=at(due_in), lease_until=at(lease_in))  # type: ignore[arg-type]
    sessions = await migrated(database_url)
    await add(units_of_work(sessions), message)
    claims = Claims(sessions, LEASE)
    claimed = await claims.claim_many(
        "ACME", Limits(max_concurrency=10, rate_per_second=None), lambda: T0, at_most=10
    )
    assert [m.message_id for m in claimed] == ([message.message_id] if message.is_due(T0) else [])
    assert all(m.persisted == m.version == ("sending", 2) for m in claimed)  # ready to save
    await sessions.kw["bind"].dispose()


async def test_the_backlog_counts_unsettled_messages_by_partner_and_status(store: Store) -> None:
    late = in_state("awaiting-mdn", mdn_deadline=T0 - timedelta(seconds=1))
    waiting = in_state("awaiting-mdn", mdn_deadline=T0 + timedelta(seconds=1))
    await add(store, late, waiting, queued(), queued(partner="BETA"), in_state("retrying"))
    await add(store, in_state("delivered"), in_state("failed", partner="BETA"))
    async with store.units() as uow:
        backlog = await uow.messages.backlog(T0)
    assert [(b.partner, b.status, b.messages, b.overdue) for b in backlog] == [
        ("ACME", "awaiting-mdn", 2, 1),
        ("ACME", "queued", 1, 0),
        ("ACME", "retrying", 1, 0),
        ("BETA", "queued", 1, 0),
    ]
