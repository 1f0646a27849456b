"""The envelope every event carries, and the registry that turns bytes back into events.

Rules (see docs/architecture.md): event names are past tense; a contract only grows compatibly
within a ``schema_version``; consumers ignore fields they do not know (``extra="ignore"``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """Base of every payload model on the bus: immutable, tolerant of unknown fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(Contract):
    """Envelope fields; subclasses add ``data`` and declare their subject."""

    #: Subject the event is published on; also documented in the AsyncAPI spec.
    subject: ClassVar[str]
    #: What the AsyncAPI spec says about the event.
    summary: ClassVar[str] = ""

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str = ""
    occurred_at: datetime = Field(default_factory=utc_now)
    correlation_id: str | None = None
    schema_version: int = 1

    def model_post_init(self, context: Any, /) -> None:
        # The type name travels in the payload so a consumer of many subjects can dispatch.
        if not self.event_type:
            object.__setattr__(self, "event_type", type(self).__name__)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


_REGISTRY: dict[str, type[Event]] = {}
E = TypeVar("E", bound=type[Event])


def register(cls: E) -> E:
    """Class decorator: make an event type known to `parse_event` and the catalogue."""
    if cls.__name__ in _REGISTRY:
        raise ValueError(f"event type {cls.__name__} registered twice")
    _REGISTRY[cls.__name__] = cls
    return cls


def registered_events() -> list[type[Event]]:
    return list(_REGISTRY.values())


class UnknownEventError(ValueError):
    pass


def parse_event(raw: bytes | str) -> Event:
    """Decode any registered event from its JSON; unknown types raise UnknownEventError."""
    header = Event.model_validate_json(raw)
    cls = _REGISTRY.get(header.event_type)
    if cls is None:
        raise UnknownEventError(f"unknown event type {header.event_type!r}")
    return cls.model_validate_json(raw)
