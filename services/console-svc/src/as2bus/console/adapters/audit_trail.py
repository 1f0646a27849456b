"""The audit trail in the database: written by the bus consumer, read by the Audit page."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.console.adapters.tables import audit_entries
from as2bus.console.domain.audit import AuditEntry


class AuditTrail:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._db = sessions

    async def record(self, entry: AuditEntry) -> bool:
        """Keep an entry; False when it is there already (a redelivered event)."""
        try:
            async with self._db() as db, db.begin():
                await db.execute(sa.insert(audit_entries).values(**asdict(entry)))
        except sa.exc.IntegrityError:
            return False
        return True

    async def entries(
        self,
        *,
        actor: str | None = None,
        entity: str | None = None,
        text: str | None = None,
        before: datetime | None = None,
        limit: int = 50,
    ) -> list[AuditEntry]:
        """Newest first; ``actor`` and ``text`` match anywhere (case-insensitive), ``before``
        pages on to older entries."""
        table = audit_entries
        query = sa.select(table).order_by(table.c.occurred_at.desc(), table.c.event_id)
        if actor:
            query = query.where(table.c.actor.ilike(f"%{_literal(actor)}%", escape="\\"))
        if entity:
            query = query.where(table.c.entity == entity)
        if text:
            query = query.where(table.c.label.ilike(f"%{_literal(text)}%", escape="\\"))
        if before is not None:
            query = query.where(table.c.occurred_at < before)
        async with self._db() as db:
            rows = (await db.execute(query.limit(limit))).mappings().all()
        return [_entry(row) for row in rows]


def _literal(text: str) -> str:
    """LIKE's wildcards in what a person typed are meant literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _entry(row: sa.RowMapping) -> AuditEntry:
    at = row["occurred_at"]
    return AuditEntry(
        event_id=row["event_id"],
        occurred_at=at if at.tzinfo else at.replace(tzinfo=UTC),
        actor=row["actor"],
        action=row["action"],
        entity=row["entity"],
        label=row["label"],
        changes=row["changes"],
    )
