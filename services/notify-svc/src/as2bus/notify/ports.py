"""What the use cases need, as Protocols: the store of conditions, incidents, resends and
deliveries (one unit of work), the rules and channels (from config-svc), and the senders of
each channel type."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from as2bus.notify.domain.conditions import Condition
from as2bus.notify.domain.delivery import Delivery
from as2bus.notify.domain.incidents import Incident, Rule


class Incidents(Protocol):
    async def get(self, rule_id: str, subject: str) -> Incident | None: ...
    async def save(self, incident: Incident) -> None: ...
    async def delete(self, rule_id: str, subject: str) -> None: ...
    async def all(self) -> list[Incident]: ...


class Conditions(Protocol):
    async def get(self, kind: str, subject: str) -> Condition | None: ...
    async def save(self, condition: Condition) -> None: ...
    async def delete(self, kind: str, subject: str) -> None: ...
    async def all(self) -> list[Condition]: ...


class Resends(Protocol):
    """Which message sends which again (a MessageQueued's ``replays``), until it is delivered."""

    async def add(self, message_id: str, replays: str) -> None: ...
    async def original_of(self, message_id: str) -> str | None:
        """The Message-ID that ``message_id`` sends again; None if it is no resend."""
        ...

    async def delete(self, message_id: str) -> None: ...


class Deliveries(Protocol):
    async def add(self, delivery: Delivery) -> None: ...
    async def due(self, now: datetime, limit: int) -> list[Delivery]: ...
    async def save(self, delivery: Delivery, *, sent_at: datetime | None = None) -> None: ...
    async def recent(self, limit: int) -> list[Delivery]: ...


class UnitOfWork(Protocol):
    @property
    def conditions(self) -> Conditions: ...
    @property
    def incidents(self) -> Incidents: ...
    @property
    def resends(self) -> Resends: ...
    @property
    def deliveries(self) -> Deliveries: ...

    async def first_delivery(self, event_id: uuid.UUID) -> bool:
        """Record the event as handled; False when it already was (a redelivery)."""
        ...

    async def commit(self) -> None: ...
    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


@dataclass(frozen=True, repr=False)
class Channel:
    id: str
    name: str
    enabled: bool
    target: dict[str, Any]  # the contract's target: type, url or host, port ...
    secrets: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print a secret by accident
        return f"Channel({self.name!r}, {self.target.get('type')})"


@dataclass(frozen=True)
class Setup:
    rules: list[Rule]
    channels: dict[str, Channel]


class SetupSource(Protocol):
    async def current(self, *, fresh: bool = False) -> Setup:
        """The rules and channels; raises SetupUnavailableError when they cannot be had."""
        ...


class SetupUnavailableError(RuntimeError):
    """The rules and channels could not be had; the message says why, with no secret."""


class DeliveryError(Exception):
    """A channel did not take a notice: one sentence saying why, no secret."""


class Sender(Protocol):
    async def send(self, channel: Channel, payload: dict[str, Any]) -> None: ...
