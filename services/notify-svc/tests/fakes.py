"""In-memory stand-ins for notify-svc's ports, for the unit tests. The store outlives the
units of work that use it, as a database outlives a process: a new Notifier on the same store
is notify-svc after a restart."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from as2bus.notify.domain.conditions import Condition
from as2bus.notify.domain.delivery import Delivery
from as2bus.notify.domain.incidents import Incident, Rule
from as2bus.notify.ports import Channel, DeliveryError, Setup, SetupUnavailableError


@dataclass
class Store:
    incidents: dict[tuple[str, str], Incident] = field(default_factory=dict)
    deliveries: dict[uuid.UUID, Delivery] = field(default_factory=dict)
    sent_at: dict[uuid.UUID, datetime] = field(default_factory=dict)
    processed: set[uuid.UUID] = field(default_factory=set)
    conditions: dict[tuple[str, str], Condition] = field(default_factory=dict)
    resends: dict[str, str] = field(default_factory=dict)


class FakeConditions:
    def __init__(self, rows: dict[tuple[str, str], Condition]) -> None:
        self.rows = rows

    async def get(self, kind: str, subject: str) -> Condition | None:
        return self.rows.get((kind, subject))

    async def save(self, condition: Condition) -> None:
        self.rows[(condition.kind, condition.subject)] = condition

    async def delete(self, kind: str, subject: str) -> None:
        self.rows.pop((kind, subject), None)

    async def all(self) -> list[Condition]:
        return sorted(self.rows.values(), key=lambda c: c.since)


class FakeResends:
    def __init__(self, rows: dict[str, str]) -> None:
        self.rows = rows

    async def add(self, message_id: str, replays: str) -> None:
        self.rows[message_id] = replays

    async def original_of(self, message_id: str) -> str | None:
        return self.rows.get(message_id)

    async def delete(self, message_id: str) -> None:
        self.rows.pop(message_id, None)


class FakeIncidents:
    def __init__(self, rows: dict[tuple[str, str], Incident]) -> None:
        self.rows = rows

    async def get(self, rule_id: str, subject: str) -> Incident | None:
        return self.rows.get((rule_id, subject))

    async def save(self, incident: Incident) -> None:
        self.rows[(incident.rule_id, incident.subject)] = incident

    async def delete(self, rule_id: str, subject: str) -> None:
        self.rows.pop((rule_id, subject), None)

    async def all(self) -> list[Incident]:
        return sorted(self.rows.values(), key=lambda i: i.first_seen)


class FakeDeliveries:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, delivery: Delivery) -> None:
        self.store.deliveries[delivery.id] = delivery

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        due = [d for d in self.store.deliveries.values()
               if d.state == "pending" and d.next_attempt_at <= now]  # fmt: skip
        return sorted(due, key=lambda d: d.next_attempt_at)[:limit]

    async def save(self, delivery: Delivery, *, sent_at: datetime | None = None) -> None:
        self.store.deliveries[delivery.id] = delivery
        if sent_at is not None:
            self.store.sent_at[delivery.id] = sent_at

    async def recent(self, limit: int) -> list[Delivery]:
        return list(self.store.deliveries.values())[-limit:][::-1]


class FakeUnitOfWork:
    """Changes are made on copies and land in the store only at ``commit``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def __aenter__(self) -> FakeUnitOfWork:
        self._work = Store(
            dict(self._store.incidents), dict(self._store.deliveries),
            dict(self._store.sent_at), set(self._store.processed),
            dict(self._store.conditions), dict(self._store.resends),
        )  # fmt: skip
        self.conditions = FakeConditions(self._work.conditions)
        self.resends = FakeResends(self._work.resends)
        self.incidents = FakeIncidents(self._work.incidents)
        self.deliveries = FakeDeliveries(self._work)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def first_delivery(self, event_id: uuid.UUID) -> bool:
        if event_id in self._work.processed:
            return False
        self._work.processed.add(event_id)
        return True

    async def commit(self) -> None:
        self._store.incidents = self._work.incidents
        self._store.deliveries = self._work.deliveries
        self._store.sent_at = self._work.sent_at
        self._store.processed = self._work.processed
        self._store.conditions = self._work.conditions
        self._store.resends = self._work.resends


class Units:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)


class FakeSetup:
    def __init__(self, rules: list[Rule], channels: list[Channel] | None = None) -> None:
        self.rules = rules
        self.channels = {c.id: c for c in channels or []}
        self.available = True

    async def current(self, *, fresh: bool = False) -> Setup:
        if not self.available:
            raise SetupUnavailableError("config-svc did not answer (test)")
        return Setup(rules=list(self.rules), channels=dict(self.channels))


class RecordingSender:
    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.failures = failures

    async def send(self, channel: Channel, payload: dict[str, Any]) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryError("the receiver answered HTTP 503 (test)")
        self.sent.append((channel.id, payload))
