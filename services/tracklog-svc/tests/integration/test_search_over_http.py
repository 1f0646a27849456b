"""The list's search as an operator types it, on SQLite and PostgreSQL: partner and station in
any case, a Message-ID by its part before the "@", how many match (capped), and the indexes
that still answer those filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.shared.db import create_engine, is_sqlite
from as2bus.testing.tracklog import T0, outbound
from as2bus.tracklog.adapters import queries
from as2bus.tracklog.adapters.queries import MessageFilter
from as2bus.tracklog.reads import Reads

from .conftest import client, publish, wait_applied

__all__ = ["client"]  # the fixture, used by name

LOCAL_PART = "1764912345.123-abc"
MINUTE = timedelta(minutes=1)
EVENTS = [
    *outbound(f"<{LOCAL_PART}@myco.as2bus>", partner="DEMO-B", station="MyCo"),
    *outbound("<1764912345.999-xyz@myco.as2bus>", at=T0 + MINUTE, partner="DEMO-B"),
    *outbound("<other@myco.as2bus>", at=T0 + 2 * MINUTE, partner="acme", station="MYCO"),
    *outbound("<x-abc@myco.as2bus>", at=T0 + 3 * MINUTE, partner="demo-bx", station="OTHER"),
]


async def message_ids(api: Any, **params: Any) -> list[str]:
    response = await api.get("/api/v1/messages", params=params)
    assert response.status_code == 200, response.text
    return sorted(item["message_id"] for item in response.json()["items"])


async def test_partner_station_and_message_id_as_an_operator_types_them(
    nats_url: str, database_url: str, start_service: Any, client: Any
) -> None:
    api = client(start_service(database_url))
    await publish(nats_url, EVENTS)
    await wait_applied(api, len(EVENTS))

    demo_b = ["<1764912345.123-abc@myco.as2bus>", "<1764912345.999-xyz@myco.as2bus>"]
    assert await message_ids(api, partner="demo-b") == demo_b
    assert await message_ids(api, partner="DEMO-B") == demo_b
    assert await message_ids(api, partner="Demo-B", sort="updated_at") == demo_b
    assert await message_ids(api, station="myco") == [*demo_b, "<other@myco.as2bus>"]

    wanted = [f"<{LOCAL_PART}@myco.as2bus>"]
    for typed in (LOCAL_PART, f"<{LOCAL_PART}", f"{LOCAL_PART}@myco.as2bus",
                  f"<{LOCAL_PART}@myco.as2bus>", " 1764912345.123 "):  # fmt: skip
        assert await message_ids(api, q=typed) == wanted, typed
    assert await message_ids(api, q="1764912345.") == demo_b
    assert await message_ids(api, q="abc") == []  # from the middle: not searched (full scan)
    assert await message_ids(api, q="<") == []  # not every message
    assert await message_ids(api, message_id=LOCAL_PART) == []  # that filter stays exact


async def test_a_page_says_how_many_match_when_asked(
    nats_url: str, database_url: str, start_service: Any, client: Any, monkeypatch: Any
) -> None:
    api = client(start_service(database_url))
    await publish(nats_url, EVENTS)
    await wait_applied(api, len(EVENTS))

    async def page(**params: Any) -> dict[str, Any]:
        response = await api.get("/api/v1/messages", params={"limit": 1, **params})
        assert response.status_code == 200, response.text
        return dict(response.json())

    first = await page(count="true", partner="demo-b")
    assert (len(first["items"]), first["count"], first["count_capped"]) == (1, 2, False)
    second = await page(count="true", partner="demo-b", cursor=first["next_cursor"])
    assert second["count"] == 2  # every page's matches, not the rest
    assert (await page())["count"] is None  # not asked: not counted
    assert (await page(count="true", since=(T0 + 2 * MINUTE).isoformat()))["count"] == 2

    # Past the cap (small here: the service's is 10,000) the count stops and says so.
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    engine = create_engine(database_url)
    try:
        reads = Reads(async_sessionmaker(engine, expire_on_commit=False))
        options: dict[str, Any] = {"sort": "created_at", "order": "desc", "cursor": None}
        capped = await reads.messages(MessageFilter(), limit=1, count=True, **options)
        assert (capped.count, capped.count_capped) == (3, True)
        exact = await reads.messages(MessageFilter(partner="acme"), limit=1, count=True, **options)
        assert (exact.count, exact.count_capped) == (1, False)
    finally:
        await engine.dispose()


#: What each search reads, by the index it must use (the plan on an empty table: PostgreSQL is
#: told to avoid sequential scans, so it shows whether an index can answer at all).
SEARCHES = [
    (MessageFilter(partner="DEMO-B"), "ix_messages_partner_key_created_at"),
    (MessageFilter(station="myco"), "ix_messages_station_key_created_at"),
    (MessageFilter(text=LOCAL_PART), "ix_messages_message_id"),
]


@pytest.mark.parametrize(("search", "index"), SEARCHES)
async def test_an_index_answers_each_search(
    migrated: str, search: MessageFilter, index: str
) -> None:
    engine = create_engine(migrated)
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    explain = "EXPLAIN QUERY PLAN " if is_sqlite(migrated) else "EXPLAIN "
    try:
        async with AsyncSession(engine) as session:
            if not is_sqlite(migrated):
                await session.execute(sa.text("SET enable_seqscan = off"))
            sa.event.listen(engine.sync_engine, "before_cursor_execute", seen)
            await queries.list_messages(session, search)
            sa.event.remove(engine.sync_engine, "before_cursor_execute", seen)
            statement, parameters = statements[0]
            connection = await session.connection()
            plan = (await connection.exec_driver_sql(explain + statement, parameters)).all()
    finally:
        await engine.dispose()
    steps = [str(row[-1]) for row in plan]  # SQLite: (id, parent, 0, detail); PostgreSQL: (line,)
    assert any(index in step for step in steps), steps
    assert not any(step == "SCAN messages" or "Seq Scan" in step for step in steps), steps
