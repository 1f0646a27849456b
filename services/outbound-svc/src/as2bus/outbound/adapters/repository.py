"""Messages in SQL (SQLite or PostgreSQL): the repository and the unit of work.

A save changes only what a message's transitions change, and only while the stored message
is still the version that was read (status and attempt number, see ``Version``): the lease
protocol of the claims depends on it. The outbox rows are inserted in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from as2bus.contracts import Event
from as2bus.outbound.adapters.tables import messages, outbox
from as2bus.outbound.domain import FINAL, Backlog, Message
from as2bus.outbound.ports import DuplicateRequestError
from as2bus.shared.db import engine_of
from as2bus.shared.outbox import add_to_outbox

#: What transitions change; the rest of a message is written once, when it is added.
#: ``content`` is not here: written once, it stays after the message is settled (for
#: downloads and resends) until the retention clears it (adapters/retention.py).
_CHANGING = (
    "status",
    "attempts",
    "stopped_attempts",
    "next_attempt_at",
    "lease_until",
    "mdn_mode",
    "mdn_deadline",
    "mic",
    "signed_mdn",
    "mdn_signature",
    "last_error",
    "updated_at",
    "mdn_document",
    "sent_document",
)

#: A constant statement: each save's values are parameters, so SQLAlchemy compiles it once.
_SAVE = (
    sa.update(messages)
    .where(messages.c.id == sa.bindparam("row_id"))
    .where(messages.c.status == sa.bindparam("was_status"))
    .where(messages.c.attempts == sa.bindparam("was_attempts"))
    .values({name: sa.bindparam(name) for name in _CHANGING})
)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def to_message(row: RowMapping) -> Message:
    """A message as stored, marked as the version a save must find."""
    fields: dict[str, Any] = {
        str(name): aware(value) if isinstance(value, datetime) else value
        for name, value in row.items()
    }
    if fields["content"] is not None:
        fields["content"] = bytes(fields["content"])  # PostgreSQL: a memoryview
    fields["stopped_attempts"] = fields["stopped_attempts"] or 0
    message = Message(**fields)
    message.persisted = message.version
    return message


def _changes(message: Message) -> dict[str, Any]:
    assert message.persisted is not None, "a message is saved after it was read or added"
    return {
        "row_id": message.id,
        "was_status": message.persisted.status,
        "was_attempts": message.persisted.attempts,
        **{name: getattr(message, name) for name in _CHANGING},
    }


def _row(message: Message) -> dict[str, Any]:
    return {
        column.name: getattr(message, column.name)
        for column in messages.columns
        if column.name != "document_deleted_at"
    }


async def save_all(session: AsyncSession | AsyncConnection, batch: list[Message]) -> None:
    """Save messages this session read and still holds locked (the claims), in one statement
    for all; each becomes the version saved. (No count to check: asyncpg gives none for a
    statement run with many parameter sets, and the lock promised that none changed.)"""
    if not batch:
        return
    await session.execute(_SAVE, [_changes(m) for m in batch])
    for message in batch:
        message.persisted = message.version


class SqlMessageRepository:
    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        self._session = session

    async def get(self, message_id: str) -> Message | None:
        return await self._one(messages.c.message_id == message_id)

    async def of_request(self, request_id: str) -> Message | None:
        return await self._one(messages.c.request_id == request_id)

    async def add(self, message: Message) -> None:
        # No savepoint (two more round trips per message): a duplicate ends the transaction,
        # which the port's contract says is then left uncommitted.
        try:
            await self._session.execute(sa.insert(messages), _row(message))
        except sa.exc.IntegrityError as err:
            raise DuplicateRequestError(message.request_id) from err
        message.persisted = message.version

    async def save(self, message: Message) -> bool:
        result = await self._session.execute(_SAVE, _changes(message))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            return False
        message.persisted = message.version
        return True

    async def mdn_overdue(self, now: datetime) -> list[Message]:
        query = sa.select(messages).where(
            messages.c.status == "awaiting-mdn", messages.c.mdn_deadline < now
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [to_message(row) for row in rows]

    async def backlog(self, now: datetime) -> list[Backlog]:
        overdue = sa.and_(messages.c.status == "awaiting-mdn", messages.c.mdn_deadline < now)
        query = (
            sa.select(
                messages.c.partner,
                messages.c.status,
                sa.func.count(),
                sa.func.count().filter(overdue),
            )
            .where(messages.c.status.not_in(sorted(FINAL)))
            .group_by(messages.c.partner, messages.c.status)
            .order_by(messages.c.partner, messages.c.status)
        )
        rows = (await self._session.execute(query)).all()
        return [Backlog(partner, status, count, late) for partner, status, count, late in rows]

    async def _one(self, where: sa.ColumnElement[bool]) -> Message | None:
        row = (await self._session.execute(sa.select(messages).where(where))).mappings().first()
        return to_message(row) if row is not None else None


class SqlUnitOfWork:
    """A transaction on a connection of the sessions' engine. Not an ORM ``Session``: every
    statement here is a core one, and the session's bookkeeping around each (its state
    changes, its execution options) cost about a fifth of a transaction's CPU in a
    micro-benchmark (docs/benchmarks.md, finding 19)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], after_commit: Callable[[], None]
    ) -> None:
        self._engine = engine_of(sessions)
        self._after_commit = after_commit
        self._events: list[Event] = []

    async def __aenter__(self) -> Self:
        self._connection = await self._engine.connect()
        try:
            await self._connection.begin()
        except BaseException:
            await self._connection.close()
            raise
        self._messages = SqlMessageRepository(self._connection)
        self._events = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._connection.in_transaction():
                await self._connection.rollback()
        finally:
            await self._connection.close()

    @property
    def messages(self) -> SqlMessageRepository:
        return self._messages

    def publish(self, *events: Event) -> None:
        self._events.extend(events)

    async def commit(self) -> None:
        events, self._events = self._events, []
        await add_to_outbox(self._connection, outbox, *events)
        await self._connection.commit()
        self._after_commit()  # the relay publishes now, not at its next poll


def units_of_work(
    sessions: async_sessionmaker[AsyncSession], *, after_commit: Callable[[], None] = lambda: None
) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(sessions, after_commit)
