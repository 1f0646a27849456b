"""Received documents leave the object store a grace period after they were consumed
(AS2BUS_INBOUND_DOCUMENT_GRACE_HOURS), and at the latest some time after they were announced
(AS2BUS_INBOUND_DOCUMENT_RETENTION_HOURS), consumed or not.

"Consumed" is read from JetStream itself: every durable consumer of the events stream whose
filter takes MessageReceived (your systems, ``as2bus inbox``, tracklog-svc) has acknowledged
the event, i.e. its acknowledgement floor has passed the event's sequence. A system that
stops reading keeps documents until the latest deadline, so delete a durable consumer you no
longer use. The ledger row stays (it recognises a resent Message-ID); its document name is
cleared. A message's documents after the first (RFC 6362) go with the first.

The message as received (the record of what the partner signed) is kept until the latest
deadline, consumed or not.

A document deleted unread (its deadline came first) is lost to the systems that did not read
it: each is logged as a warning naming its message and counted, and the age of the oldest
unread document is exported, so that an alert comes while there is still time to read it
(deploy/monitoring, docs/operations.md#as2busreceiveddocumentsunread)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.inbound.adapters.tables import received_messages
from as2bus.inbound.domain import attachment_name
from as2bus.inbound.metrics import DELETED_UNREAD, OLDEST_UNREAD
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.logs import about_message

log = logging.getLogger(__name__)

#: The sequence up to which every consumer of received documents has acknowledged; None when
#: there is no such consumer (nobody will ever read them: consumed as far as anyone can).
ConsumedUpTo = Callable[[], Awaitable[int | None]]


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, ``>`` the rest (one token or more)."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or token not in ("*", have[i]):
            return False
    return len(want) == len(have)


async def acknowledged_by_all(js: JetStreamContext, subject: str) -> int | None:
    floors = []
    for info in await js.consumers_info(EVENTS_STREAM):
        config = info.config
        if not config.durable_name:
            continue  # ephemeral: gone with its client, nothing to wait for
        filters = config.filter_subjects or [config.filter_subject or ">"]
        if any(subject_matches(f, subject) for f in filters):
            floors.append(info.ack_floor.stream_seq if info.ack_floor else 0)
    return min(floors, default=None)


class ReceivedDocuments:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        documents: DocumentStore,
        consumed_up_to: ConsumedUpTo,
        *,
        grace: timedelta,
        keep: timedelta,
        clock: Callable[[], datetime],
        batch: int = 200,
    ) -> None:
        self._sessions = sessions
        self._documents = documents
        self._consumed_up_to = consumed_up_to
        self._grace = grace
        self._keep = keep
        self._clock = clock
        self._batch = batch

    async def purge(self) -> int:
        """Note what has been consumed since the last turn, then delete one batch of documents
        whose time is over; how many."""
        now, table = self._clock(), received_messages
        floor = await self._consumed_up_to()
        kept = (table.c.status == "delivered") & table.c.document.is_not(None)
        # No consumer at all: nobody will read them, so everything announced is "consumed".
        consumed: sa.ColumnElement[bool] = table.c.event_seq.is_not(None)
        if floor is not None:
            consumed = consumed & (table.c.event_seq <= floor)
        async with self._sessions() as session, session.begin():
            await session.execute(
                sa.update(table)
                .where(kept & table.c.consumed_at.is_(None) & consumed)
                .values(consumed_at=now)
            )
        over = (table.c.consumed_at < now - self._grace) | (table.c.received_at < now - self._keep)
        async with self._sessions() as session:
            due = (
                await session.execute(
                    sa.select(
                        table.c.id,
                        table.c.document,
                        table.c.attachments,
                        table.c.consumed_at,
                        table.c.message_id,
                        table.c.partner,
                        table.c.station,
                        table.c.received_at,
                    )
                    .where(kept & over)
                    .limit(self._batch)
                )
            ).all()
        for row in due:
            # The attachments first: a crash in between leaves the first document's name
            # in the row, so the next turn deletes whatever is left.
            for index in range(1, (row.attachments or 0) + 1):
                await self._documents.delete(attachment_name(row.document, index))
            await self._documents.delete(row.document)
        if due:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    sa.update(table)
                    .where(table.c.id.in_([row.id for row in due]))
                    .values(document=None)
                )
        self._report_unread([row for row in due if row.consumed_at is None])
        await self._measure_unread(now, kept)
        return len(due) + await self._purge_as_received(now)

    def _report_unread(self, rows: Sequence[Any]) -> None:
        for row in rows:
            documents = 1 + (row.attachments or 0)
            DELETED_UNREAD.inc(documents)
            with about_message(row.message_id, partner=row.partner, station=row.station):
                log.warning(
                    "deleted %d received document(s) of message %s from %s, received %s, "
                    "unread: a durable consumer of MessageReceived had not acknowledged it "
                    "within AS2BUS_INBOUND_DOCUMENT_RETENTION_HOURS (%g hours)",
                    documents,
                    row.message_id,
                    row.partner,
                    f"{_utc(row.received_at):%Y-%m-%d %H:%M}Z",
                    self._keep.total_seconds() / 3600,
                )

    async def _measure_unread(self, now: datetime, kept: sa.ColumnElement[bool]) -> None:
        table = received_messages
        async with self._sessions() as session:
            oldest = await session.scalar(
                sa.select(sa.func.min(table.c.received_at)).where(
                    kept & table.c.consumed_at.is_(None)
                )
            )
        OLDEST_UNREAD.set(0 if oldest is None else (now - _utc(oldest)).total_seconds())

    async def _purge_as_received(self, now: datetime) -> int:
        table = received_messages
        old = table.c.raw_document.is_not(None) & (table.c.received_at < now - self._keep)
        async with self._sessions() as session:
            due = (
                await session.execute(
                    sa.select(table.c.id, table.c.raw_document).where(old).limit(self._batch)
                )
            ).all()
        for row in due:
            await self._documents.delete(row.raw_document)
        if due:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    sa.update(table)
                    .where(table.c.id.in_([row.id for row in due]))
                    .values(raw_document=None)
                )
        return len(due)


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
