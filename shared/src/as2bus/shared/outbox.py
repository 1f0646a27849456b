"""Transactional outbox: events are committed with the change that caused them, then relayed.

A service cannot commit to its database and publish to NATS atomically. Writing the event into
an ``outbox`` table in the same transaction as the change means a crash after the commit loses
nothing: the relay publishes whatever is still in the table when it next runs. A crash after
publishing but before deleting the row publishes again; the same ``Nats-Msg-Id`` makes
JetStream drop the copy. Rows go out in commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from faststream.nats import NatsBroker
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.shared.bus.publish import publish_event
from as2bus.shared.contracts import Event, parse_event

log = logging.getLogger(__name__)

PUBLISHED = Counter("as2bus_outbox_published_total", "Events relayed from the outbox", ["service"])
PENDING = Gauge("as2bus_outbox_pending", "Events committed but not yet published", ["service"])
FAILURES = Counter("as2bus_outbox_failures_total", "Relay passes that failed", ["service"])

OnPublished = Callable[[sa.Row[Any]], Awaitable[None]]


def outbox_table(metadata: sa.MetaData, *extra: sa.Column[Any]) -> sa.Table:
    """The outbox; a service may add columns for what its relay does after publishing."""
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("payload", sa.Text(), nullable=False),
        *extra,
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


async def add_to_outbox(session: AsyncSession, table: sa.Table, event: Event, **extra: Any) -> None:
    """Record ``event`` in the caller's transaction."""
    await session.execute(
        sa.insert(table).values(
            event_id=event.event_id,
            payload=event.model_dump_json(),
            created_at=event.occurred_at,
            **extra,
        )
    )


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        broker: NatsBroker,
        table: sa.Table,
        *,
        service: str,
        on_published: OnPublished | None = None,
        batch_size: int = 100,
        idle_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._broker = broker
        self._table = table
        self._service = service
        self._on_published = on_published
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self.last_error: str | None = None

    def wake(self) -> None:
        """Called after a commit so the event goes out now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            # Clear before draining: a commit that lands during the drain sets it again.
            self._wake.clear()
            try:
                while await self.drain_once():
                    pass
                self.last_error = None
            except Exception as err:  # NATS down, DB down: keep the rows, try again later
                FAILURES.labels(self._service).inc()
                self.last_error = f"{type(err).__name__}: {err}"
                log.warning("outbox relay pass failed, will retry: %s", self.last_error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle_seconds)

    async def drain_once(self) -> int:
        """Publish one batch in commit order; returns how many rows went out."""
        table = self._table
        async with self._sessions() as session:
            query = sa.select(table).order_by(table.c.seq).limit(self._batch_size)
            rows = (await session.execute(query)).all()
        PENDING.labels(self._service).set(len(rows))
        for row in rows:
            await publish_event(self._broker, parse_event(row.payload))
            if self._on_published is not None:
                await self._on_published(row)
            async with self._sessions() as session, session.begin():
                await session.execute(sa.delete(table).where(table.c.seq == row.seq))
            PUBLISHED.labels(self._service).inc()
        return len(rows)
