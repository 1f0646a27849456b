"""Reading and writing the projection in the caller's transaction, a batch at a time.

A batch of events touches a few hundred rows: they are read in one SELECT (locked on
PostgreSQL, so two replicas cannot interleave read-modify-write on one message), merged in
memory, and written back with one executemany per table.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from as2bus.tracklog.adapters.tables import certificates, messages, processed_events, timeline
from as2bus.tracklog.certs import CertificateView
from as2bus.tracklog.domain import MessageState, utc
from as2bus.tracklog.merge import TimelineEntry

T = TypeVar("T", MessageState, CertificateView)

#: Where the projection's statements run: a connection (the projector's) or a session.
Db = AsyncConnection | AsyncSession


def from_row(cls: type[T], row: sa.RowMapping) -> T:
    values: dict[str, Any] = {k: utc(v) if isinstance(v, datetime) else v for k, v in row.items()}
    return cls(**values)


def to_row(state: MessageState | CertificateView) -> dict[str, Any]:
    return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}


async def claim_new(session: Db, event_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Record the ids not seen before and return them: the events this batch must apply.

    The batched form of ``shared.bus.idempotency.first_delivery`` (same table, same
    transaction as the effects): one SELECT and one INSERT instead of a savepoint per event.
    Two replicas claiming the same id at once make one INSERT fail; its whole batch is retried.
    """
    unique = list(dict.fromkeys(event_ids))
    if not unique:
        return set()
    seen = await session.scalars(
        sa.select(processed_events.c.event_id).where(processed_events.c.event_id.in_(unique))
    )
    known = set(seen)
    fresh = [event_id for event_id in unique if event_id not in known]
    if fresh:
        now = datetime.now(UTC)
        await session.execute(
            sa.insert(processed_events), [{"event_id": i, "processed_at": now} for i in fresh]
        )
    return set(fresh)


async def _load(
    session: Db, table: sa.Table, cls: type[T], ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, T]:
    if not ids:
        return {}
    query = sa.select(table).where(table.c.id.in_(list(ids))).with_for_update()
    rows = (await session.execute(query)).mappings()
    return {row["id"]: from_row(cls, row) for row in rows}


async def load_messages(session: Db, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, MessageState]:
    return await _load(session, messages, MessageState, ids)


async def load_certificates(
    session: Db, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, CertificateView]:
    return await _load(session, certificates, CertificateView, ids)


async def _connection(db: Db) -> AsyncConnection:
    """Executemany with core statements goes through a connection (a session's ORM bulk
    paths would treat the rows as ORM objects)."""
    return db if isinstance(db, AsyncConnection) else await db.connection()


async def _save(
    session: Db,
    table: sa.Table,
    new: list[MessageState] | list[CertificateView],
    changed: list[MessageState] | list[CertificateView],
) -> None:
    connection = await _connection(session)
    if new:
        await connection.execute(sa.insert(table), [to_row(s) for s in new])
    if changed:
        columns = [c.name for c in table.columns if c.name != "id"]
        update = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values({name: sa.bindparam(name) for name in columns})
        )
        params = []
        for state in changed:
            row = to_row(state)
            row["row_id"] = row.pop("id")
            params.append(row)
        await connection.execute(update, params)


async def save_messages(session: Db, new: list[MessageState], changed: list[MessageState]) -> None:
    await _save(session, messages, new, changed)


async def save_certificates(
    session: Db, new: list[CertificateView], changed: list[CertificateView]
) -> None:
    await _save(session, certificates, new, changed)


async def add_timeline(session: Db, entries: list[TimelineEntry]) -> None:
    if entries:
        connection = await _connection(session)
        await connection.execute(
            sa.insert(timeline),
            [dict(vars(entry)) for entry in entries],  # asdict deep-copies
        )
