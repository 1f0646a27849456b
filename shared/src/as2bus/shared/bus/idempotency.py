"""Exactly-once effects on an at-least-once bus.

JetStream redelivers a message whose ack was lost. A consumer with a database records the event
id in the same transaction as its effects; a redelivered event then finds its id and does
nothing. Usage::

    async with session.begin():
        if await first_delivery(session, processed, event.event_id):
            ...apply the effects...
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession


def processed_events_table(metadata: sa.MetaData, name: str = "processed_events") -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


async def first_delivery(session: AsyncSession, table: sa.Table, event_id: uuid.UUID) -> bool:
    """Record ``event_id``; False when it was already recorded (a redelivery).

    Uses a savepoint so that a duplicate does not abort the caller's transaction.
    """
    try:
        async with session.begin_nested():
            await session.execute(
                sa.insert(table).values(event_id=event_id, processed_at=datetime.now(UTC))
            )
    except sa.exc.IntegrityError:
        return False
    return True
