"""One contract for the store of incidents and deliveries, run on the in-memory fake and on
SQLite and PostgreSQL: the fake cannot promise what the database does not keep."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from as2bus.notify.adapters.repository import SqlUnitOfWork
from as2bus.notify.bootstrap import MIGRATIONS
from as2bus.notify.domain.conditions import Condition
from as2bus.notify.domain.delivery import Delivery
from as2bus.notify.domain.incidents import Incident
from as2bus.shared.db import create_engine, session_factory, upgrade_database

from ..fakes import Store, Units

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def units(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield Units(Store())
        return
    url = request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_url")
    await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    yield lambda: SqlUnitOfWork(sessions)
    await engine.dispose()


def incident(**changes: Any) -> Incident:
    fields: dict[str, Any] = dict(
        rule_id="rule-1", kind="partner-unreachable", subject="ACME", state="pending",
        first_seen=T0, last_seen=T0, count=1, detail="connection refused",
    )  # fmt: skip
    return Incident(**{**fields, **changes})


def delivery(at: datetime, channel: str = "hook") -> Delivery:
    return Delivery(id=uuid.uuid4(), notice_id=uuid.uuid4(), channel_id=channel,
                    payload={"state": "firing", "count": 3}, attempts=0,
                    next_attempt_at=at)  # fmt: skip


async def test_incidents_are_kept_changed_and_closed(units: Any) -> None:
    async with units() as uow:
        await uow.incidents.save(incident())
        await uow.incidents.save(incident(subject="GLOBEX", first_seen=T0 - timedelta(hours=1)))
        await uow.commit()
    fired = incident(state="firing", count=7, notified_count=7, last_notified_at=T0)
    async with units() as uow:
        await uow.incidents.save(fired)
        await uow.commit()
    async with units() as uow:
        assert await uow.incidents.get("rule-1", "ACME") == fired
        assert [i.subject for i in await uow.incidents.all()] == ["GLOBEX", "ACME"]
        await uow.incidents.delete("rule-1", "GLOBEX")
        await uow.commit()
    async with units() as uow:
        assert await uow.incidents.get("rule-1", "GLOBEX") is None
        assert await uow.incidents.get("rule-2", "ACME") is None


async def test_nothing_is_kept_without_a_commit(units: Any) -> None:
    async with units() as uow:
        await uow.incidents.save(incident())
        await uow.deliveries.add(delivery(T0))
        assert await uow.first_delivery(uuid.UUID(int=1))
    async with units() as uow:
        assert await uow.incidents.all() == []
        assert await uow.deliveries.recent(10) == []
        assert await uow.first_delivery(uuid.UUID(int=1))


async def test_an_event_is_handled_once(units: Any) -> None:
    event_id = uuid.uuid4()
    async with units() as uow:
        assert await uow.first_delivery(event_id)
        await uow.commit()
    async with units() as uow:
        assert not await uow.first_delivery(event_id)


async def test_deliveries_come_due_in_order_and_keep_their_outcome(units: Any) -> None:
    later, now, earlier = delivery(T0 + timedelta(minutes=1)), delivery(T0), delivery(T0, "mail")
    earlier = Delivery(**{**earlier.__dict__, "next_attempt_at": T0 - timedelta(seconds=5)})
    async with units() as uow:
        for made in (later, now, earlier):
            await uow.deliveries.add(made)
        await uow.commit()
    async with units() as uow:
        assert [d.id for d in await uow.deliveries.due(T0, 10)] == [earlier.id, now.id]
        assert [d.id for d in await uow.deliveries.due(T0, 1)] == [earlier.id]
        sent = Delivery(**{**now.__dict__, "state": "sent", "attempts": 1})
        retry = Delivery(**{**earlier.__dict__, "attempts": 1, "last_error": "HTTP 503",
                            "next_attempt_at": T0 + timedelta(minutes=5)})  # fmt: skip
        await uow.deliveries.save(sent, sent_at=T0)
        await uow.deliveries.save(retry)
        await uow.commit()
    async with units() as uow:
        assert await uow.deliveries.due(T0 + timedelta(minutes=1), 10) == [later]
        kept = {d.id: d for d in await uow.deliveries.recent(10)}
        assert kept[now.id] == sent
        assert kept[earlier.id] == retry


async def test_conditions_keep_their_failed_messages_and_end(units: Any) -> None:
    trouble = Condition(kind="message-failed", subject="ACME", since=T0,
                        last_seen=T0 + timedelta(minutes=2), count=2, detail="HTTP 403",
                        open_messages=("<m1@us>", "<m2@us>"))  # fmt: skip
    older = Condition(kind="certificate-expiring", subject="myco", since=T0 - timedelta(days=1),
                      last_seen=T0, count=1, detail="expires soon")  # fmt: skip
    async with units() as uow:
        await uow.conditions.save(trouble)
        await uow.conditions.save(older)
        await uow.commit()
    settled = replace(trouble, open_messages=("<m2@us>",))
    async with units() as uow:
        assert await uow.conditions.get("message-failed", "ACME") == trouble
        await uow.conditions.save(settled)
        await uow.commit()
    async with units() as uow:
        assert await uow.conditions.all() == [older, settled]
        await uow.conditions.delete("message-failed", "ACME")
        await uow.commit()
    async with units() as uow:
        assert await uow.conditions.get("message-failed", "ACME") is None


async def test_resends_are_linked_to_their_original_until_forgotten(units: Any) -> None:
    long_id = "<" + "x" * 900 + "@us>"  # Message-IDs may be long (up to 998 characters)
    async with units() as uow:
        await uow.resends.add("<m2@us>", long_id)
        await uow.resends.add("<m2@us>", long_id)  # queued twice: the same link
        await uow.commit()
    async with units() as uow:
        assert await uow.resends.original_of("<m2@us>") == long_id
        assert await uow.resends.original_of(long_id) is None
        await uow.resends.delete("<m2@us>")
        await uow.commit()
    async with units() as uow:
        assert await uow.resends.original_of("<m2@us>") is None
