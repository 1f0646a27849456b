"""Received documents leave the object store once they have been announced (MessageReceived)
for longer than the retention (AS2BUS_INBOUND_DOCUMENT_RETENTION_HOURS): the time consumers
have to read them. The ledger row stays (it recognises a resent Message-ID); its document
name is cleared."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.inbound.adapters.tables import received_messages
from as2bus.shared.bus.documents import DocumentStore


class ReceivedDocuments:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        documents: DocumentStore,
        keep: timedelta,
        *,
        clock: Callable[[], datetime],
        batch: int = 200,
    ) -> None:
        self._sessions = sessions
        self._documents = documents
        self._keep = keep
        self._clock = clock
        self._batch = batch

    async def purge(self) -> int:
        """Delete one batch of documents whose retention is over; how many."""
        table = received_messages
        async with self._sessions() as session:
            due = (
                await session.execute(
                    sa.select(table.c.id, table.c.document)
                    .where(table.c.status == "delivered")
                    .where(table.c.received_at < self._clock() - self._keep)
                    .where(table.c.document.is_not(None))
                    .limit(self._batch)
                )
            ).all()
        for row in due:
            await self._documents.delete(row.document)
        if due:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    sa.update(table)
                    .where(table.c.id.in_([row.id for row in due]))
                    .values(document=None)
                )
        return len(due)
