"""The envelope every event carries, and the registry that turns bytes back into events.

Rules (see docs/architecture.md): event names are past tense; a contract only grows compatibly
within a ``schema_version``; consumers ignore fields they do not know (``extra="ignore"``).
Commands are the opposite: a field the receiver does not know is a mistake of the publisher
(a misspelt ``subjct`` would otherwise be a silent default), so commands forbid them.
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


class Command(BaseModel):
    """Base of every command payload: immutable, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Audit(Contract):
    """Who made a configuration or certificate change through an API, and what it changed."""

    actor: str = Field(
        description="Who: 'API token 1a2b3c4d (admin)' (the first 8 hex digits of the token's "
        "SHA-256), or 'alice@example.com via API token 1a2b3c4d' when the caller (the console) "
        "named the person it acts for"
    )
    changes: dict[str, Any] = Field(
        default_factory=dict,
        description="field → {'from': old, 'to': new}; a secret's value is never given, only "
        "{'to': 'replaced'} or {'to': 'removed'}",
    )


class Event(Contract):
    """Envelope fields; subclasses add ``data`` and declare their subject."""

    #: Subject the event is published on; also documented in the AsyncAPI spec.
    subject: ClassVar[str]
    #: What the AsyncAPI spec says about the event.
    summary: ClassVar[str] = ""

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str = ""
    occurred_at: datetime = Field(default_factory=utc_now)
    correlation_id: str | None = Field(
        default=None,
        description="The id of what the event is about: the AS2 Message-ID for message and "
        "MDN events; the request_id for a send request refused before it had one; the "
        "entity's id for configuration and certificate events; else the event's own id. The "
        "NATS header correlation_id carries the same value.",
    )
    schema_version: int = 1
    audit: Audit | None = Field(
        default=None,
        description="Configuration and certificate events caused by an API call: who and what "
        "changed. None for what the services do on their own (expiry warnings, message events).",
    )

    def model_post_init(self, context: Any, /) -> None:
        # The type name travels in the payload so a consumer of many subjects can dispatch.
        if not self.event_type:
            object.__setattr__(self, "event_type", type(self).__name__)
        # Never null: the header (which must be set) and the payload then always agree.
        if self.correlation_id is None:
            object.__setattr__(self, "correlation_id", str(self.event_id))

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
