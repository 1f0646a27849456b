"""Sent documents and their MDNs leave the object store once their message has been settled for
longer than the retention (AS2BUS_OUTBOUND_DOCUMENT_RETENTION_HOURS, for downloads from the
console), whether we stored them (inline requests, MDNs) or the publisher did (referenced
objects)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.outbound.adapters.tables import messages
from as2bus.outbound.domain import FINAL
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.contracts import DocumentRef


class SentDocuments:
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
        now = self._clock()
        async with self._sessions() as session:
            due = (
                await session.execute(
                    sa.select(messages.c.id, messages.c.document, messages.c.mdn_document)
                    .where(messages.c.status.in_(FINAL))
                    .where(messages.c.updated_at < now - self._keep)
                    .where(messages.c.document.is_not(None) | messages.c.mdn_document.is_not(None))
                    .where(messages.c.document_deleted_at.is_(None))
                    .limit(self._batch)
                )
            ).all()
        for row in due:
            for kept in (row.document, row.mdn_document):  # the document and its MDN
                if kept is not None:
                    await self._documents.delete(DocumentRef.model_validate(kept).name)
        if due:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    sa.update(messages)
                    .where(messages.c.id.in_([row.id for row in due]))
                    .values(document_deleted_at=now)
                )
        return len(due)
