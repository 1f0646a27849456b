"""The use case: apply a batch of events to the projection, each event exactly once.

One transaction per batch: the event ids are recorded with the rows they changed, so a batch
that fails leaves nothing behind and its redelivery applies it whole; a batch redelivered after
its commit finds every id recorded and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from as2bus.contracts import Event
from as2bus.shared.db import engine_of
from as2bus.tracklog.adapters import repository as repo
from as2bus.tracklog.certs import CertificateView, changes, merge
from as2bus.tracklog.domain import MessageState, utc
from as2bus.tracklog.keys import locate
from as2bus.tracklog.merge import TimelineEntry, apply, new_state

APPLIED = Counter("as2bus_tracklog_events_total", "Events applied to the projection", ["type"])
REPEATS = Counter(
    "as2bus_tracklog_redelivered_total", "Events received again and ignored (already applied)"
)


@dataclass(frozen=True)
class StatusChange:
    """A message whose status a batch changed (or that the batch created)."""

    id: uuid.UUID
    direction: str
    message_id: str | None
    partner: str | None
    station: str | None
    filename: str | None
    status: str
    previous_status: str | None
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "id": str(self.id), "updated_at": self.updated_at.isoformat()}


@dataclass
class _Batch:
    messages: dict[uuid.UUID, MessageState]
    certificates: dict[uuid.UUID, CertificateView]
    before: dict[uuid.UUID, str]  # status of each message row that existed before the batch
    known_certificates: set[uuid.UUID]


OnChanges = Callable[[list[StatusChange]], None]


class Projector:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], on_changes: OnChanges | None = None
    ) -> None:
        # Core statements only: a connection, without the ORM session's bookkeeping.
        self._engine = engine_of(sessions)
        self._on_changes = on_changes

    async def apply(self, events: Sequence[Event]) -> list[StatusChange]:
        """Apply the events not applied before; returns the status changes, once committed."""
        async with self._engine.begin() as session:
            fresh = await repo.claim_new(session, (e.event_id for e in events))
            todo = []
            for event in events:
                if event.event_id in fresh:
                    fresh.discard(event.event_id)  # the same event twice in one batch
                    todo.append(event)
            REPEATS.inc(len(events) - len(todo))
            batch = await self._load(session, todo)
            entries = [entry for event in todo if (entry := self._apply(batch, event))]
            await self._save(session, batch, entries)
        for event in todo:
            APPLIED.labels(event.event_type).inc()
        found = self._changes(batch)
        if found and self._on_changes is not None:
            self._on_changes(found)
        return found

    async def _load(self, session: AsyncConnection, events: list[Event]) -> _Batch:
        refs = {found[0] for event in events if (found := locate(event))}
        certs = {change.ref for event in events for change in changes(event)}
        rows = await repo.load_messages(session, refs)
        views = await repo.load_certificates(session, certs)
        return _Batch(rows, views, {ref: row.status for ref, row in rows.items()}, set(views))

    @staticmethod
    def _apply(batch: _Batch, event: Event) -> TimelineEntry | None:
        at = utc(event.occurred_at)
        for change in changes(event):
            batch.certificates[change.ref] = merge(batch.certificates.get(change.ref), change, at)
        found = locate(event)
        if found is None:
            return None
        ref, direction = found
        state = batch.messages.get(ref) or new_state(ref, direction, event)
        batch.messages[ref] = state
        return apply(state, event)

    @staticmethod
    async def _save(session: AsyncConnection, batch: _Batch, entries: list[TimelineEntry]) -> None:
        rows = list(batch.messages.values())
        await repo.save_messages(
            session,
            [s for s in rows if s.id not in batch.before],
            [s for s in rows if s.id in batch.before],
        )
        await repo.add_timeline(session, entries)
        views = list(batch.certificates.values())
        known = batch.known_certificates
        await repo.save_certificates(
            session, [v for v in views if v.id not in known], [v for v in views if v.id in known]
        )

    @staticmethod
    def _changes(batch: _Batch) -> list[StatusChange]:
        found = []
        for s in batch.messages.values():
            if (before := batch.before.get(s.id)) != s.status:
                found.append(StatusChange(s.id, s.direction, s.message_id, s.partner, s.station,
                                          s.filename, s.status, before, s.updated_at))  # fmt: skip
        return found
