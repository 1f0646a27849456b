"""Conditions, incidents, resends and deliveries in SQL (SQLite or PostgreSQL), one
transaction per unit of work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.notify.adapters.tables import (
    conditions,
    deliveries,
    incidents,
    processed_events,
    resends,
)
from as2bus.notify.domain.conditions import Condition
from as2bus.notify.domain.delivery import Delivery
from as2bus.notify.domain.incidents import Incident
from as2bus.shared.bus.idempotency import first_delivery


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite: naive, stored UTC


def _incident(row: sa.Row[Any]) -> Incident:
    values = dict(row._mapping)
    for name in ("first_seen", "last_seen", "last_notified_at"):
        values[name] = _aware(values[name])
    return Incident(**values)


def _delivery(row: sa.Row[Any]) -> Delivery:
    values = dict(row._mapping)
    return Delivery(
        id=values["id"], notice_id=values["notice_id"], channel_id=values["channel_id"],
        payload=values["payload"], attempts=values["attempts"], state=values["state"],
        next_attempt_at=_aware(values["next_attempt_at"]) or datetime.now(UTC),
        last_error=values["last_error"],
    )  # fmt: skip


def _condition(row: sa.Row[Any]) -> Condition:
    values = dict(row._mapping)
    for name in ("since", "last_seen"):
        values[name] = _aware(values[name])
    values["open_messages"] = tuple(values["open_messages"])
    return Condition(**values)


class SqlConditions:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _key(self, kind: str, subject: str) -> sa.ColumnElement[bool]:
        return sa.and_(conditions.c.kind == kind, conditions.c.subject == subject)

    async def get(self, kind: str, subject: str) -> Condition | None:
        query = sa.select(conditions).where(self._key(kind, subject))
        row = (await self._session.execute(query)).first()
        return _condition(row) if row else None

    async def save(self, condition: Condition) -> None:
        values = {**condition.__dict__, "open_messages": list(condition.open_messages)}
        found = await self._session.execute(
            sa.update(conditions).where(self._key(condition.kind, condition.subject))
            .values(values)
        )  # fmt: skip
        if not found.rowcount:  # type: ignore[attr-defined]
            await self._session.execute(sa.insert(conditions).values(values))

    async def delete(self, kind: str, subject: str) -> None:
        await self._session.execute(sa.delete(conditions).where(self._key(kind, subject)))

    async def all(self) -> list[Condition]:
        query = sa.select(conditions).order_by(conditions.c.since)
        return [_condition(r) for r in (await self._session.execute(query)).all()]


class SqlResends:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, message_id: str, replays: str) -> None:
        await self.delete(message_id)  # the same resend queued again says the same
        await self._session.execute(
            sa.insert(resends).values(message_id=message_id, replays=replays)
        )

    async def original_of(self, message_id: str) -> str | None:
        query = sa.select(resends.c.replays).where(resends.c.message_id == message_id)
        found: str | None = (await self._session.execute(query)).scalar()
        return found

    async def delete(self, message_id: str) -> None:
        await self._session.execute(sa.delete(resends).where(resends.c.message_id == message_id))


class SqlIncidents:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _key(self, rule_id: str, subject: str) -> sa.ColumnElement[bool]:
        return sa.and_(incidents.c.rule_id == rule_id, incidents.c.subject == subject)

    async def get(self, rule_id: str, subject: str) -> Incident | None:
        query = sa.select(incidents).where(self._key(rule_id, subject))
        row = (await self._session.execute(query)).first()
        return _incident(row) if row else None

    async def save(self, incident: Incident) -> None:
        values = incident.__dict__.copy()
        found = await self._session.execute(
            sa.update(incidents).where(self._key(incident.rule_id, incident.subject)).values(values)
        )
        if not found.rowcount:  # type: ignore[attr-defined]
            await self._session.execute(sa.insert(incidents).values(values))

    async def delete(self, rule_id: str, subject: str) -> None:
        await self._session.execute(sa.delete(incidents).where(self._key(rule_id, subject)))

    async def all(self) -> list[Incident]:
        query = sa.select(incidents).order_by(incidents.c.first_seen)
        return [_incident(r) for r in (await self._session.execute(query)).all()]


class SqlDeliveries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, delivery: Delivery) -> None:
        values = {**delivery.__dict__, "created_at": datetime.now(UTC), "sent_at": None}
        await self._session.execute(sa.insert(deliveries).values(values))

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        query = (
            sa.select(deliveries)
            .where(deliveries.c.state == "pending", deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
        )
        return [_delivery(r) for r in (await self._session.execute(query)).all()]

    async def save(self, delivery: Delivery, *, sent_at: datetime | None = None) -> None:
        values = {
            "attempts": delivery.attempts, "state": delivery.state,
            "next_attempt_at": delivery.next_attempt_at, "last_error": delivery.last_error,
            "sent_at": sent_at,
        }  # fmt: skip
        await self._session.execute(
            sa.update(deliveries).where(deliveries.c.id == delivery.id).values(values)
        )

    async def recent(self, limit: int) -> list[Delivery]:
        query = sa.select(deliveries).order_by(deliveries.c.created_at.desc()).limit(limit)
        return [_delivery(r) for r in (await self._session.execute(query)).all()]


class SqlUnitOfWork:
    """One transaction; leaving it without ``commit`` rolls it back."""

    conditions: SqlConditions
    incidents: SqlIncidents
    resends: SqlResends
    deliveries: SqlDeliveries

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        self._session = self._sessions()
        await self._session.begin()
        self.conditions = SqlConditions(self._session)
        self.incidents = SqlIncidents(self._session)
        self.resends = SqlResends(self._session)
        self.deliveries = SqlDeliveries(self._session)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._session is not None
        try:
            await self._session.rollback()  # nothing left after a commit
        finally:
            await self._session.close()
            self._session = None

    async def first_delivery(self, event_id: uuid.UUID) -> bool:
        assert self._session is not None
        return await first_delivery(self._session, processed_events, event_id)

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()
