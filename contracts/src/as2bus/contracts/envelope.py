"""The envelope every event carries, and the registry that turns bytes back into events.

Rules (see docs/architecture.md): event names are past tense; a contract only grows compatibly
within a ``schema_version``; consumers ignore fields they do not know (``extra="ignore"``). A
change that is not compatible raises the type's ``schema_version`` and registers an upcaster
from the version before, so ``parse_event`` reads old and new events alike.
Commands are the opposite: a field the receiver does not know is a mistake of the publisher
(a misspelt ``subjct`` would otherwise be a silent default), so commands forbid them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import from_json


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
    #: A type's current version is its default here; raising it needs an upcaster from the
    #: version before (``EventRegistry.upcaster``) so that older events still parse.
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


E = TypeVar("E", bound=type[Event])
Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class UnknownEventError(ValueError):
    pass


class NewerEventError(ValueError):
    """A version of an event this consumer's contracts do not know yet (its publisher was
    upgraded first): refused rather than read with fields whose meaning may have changed. Not
    an UnknownEventError, which consumers skip: this one fails the handling, so the event is
    delivered again until the consumer is upgraded (nothing lost; upgrade consumers first)."""


class EventRegistry:
    """Event types by name, and the upcasters that turn an older ``schema_version`` of an
    event into the next: a consumer reads events published before a contract's version was
    raised (still in a stream, or from a service not upgraded yet) as the current version."""

    def __init__(self) -> None:
        self._types: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: E) -> E:
        """Class decorator: make an event type known to ``parse`` and the catalogue."""
        if cls.__name__ in self._types:
            raise ValueError(f"event type {cls.__name__} registered twice")
        self._types[cls.__name__] = cls
        return cls

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: ``fn(payload) -> payload`` turns version ``from_version`` of
        ``event_type`` (its JSON as a dict) into version ``from_version + 1``."""

        def add(fn: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters:
                raise ValueError(f"two upcasters from version {from_version} of {event_type}")
            self._upcasters[key] = fn
            return fn

        return add

    def events(self) -> list[type[Event]]:
        return list(self._types.values())

    def missing_upcasters(self) -> list[str]:
        """ "X 1 → 2" for every step a registered type's version needs and has no upcaster
        for (a test keeps this empty)."""
        return [
            f"{name} {v} → {v + 1}"
            for name, cls in self._types.items()
            for v in range(1, current_version(cls))
            if (name, v) not in self._upcasters
        ]

    def parse(self, raw: bytes | str) -> Event:
        """Any registered event from its JSON, upcast to the current version of its type.
        An unknown type raises UnknownEventError, a version newer than ours NewerEventError."""
        payload = from_json(raw)
        header = Event.model_validate(payload)
        cls = self._types.get(header.event_type)
        if cls is None:
            raise UnknownEventError(f"unknown event type {header.event_type!r}")
        version, current = header.schema_version, current_version(cls)
        if version > current:
            raise NewerEventError(
                f"{header.event_type} version {version} is newer than the version {current} "
                "this service knows: upgrade it"
            )
        while version < current:
            step = self._upcasters.get((header.event_type, version))
            if step is None:
                raise UnknownEventError(
                    f"no upcaster from version {version} of {header.event_type}"
                )
            version += 1
            payload = {**step(payload), "schema_version": version}
        return cls.model_validate(payload)


def current_version(cls: type[Event]) -> int:
    """The version a type is published at: its ``schema_version`` default."""
    return int(cls.model_fields["schema_version"].default)


#: The contracts' own registry: every event type in ``as2bus.contracts``.
EVENTS = EventRegistry()
register = EVENTS.register
upcaster = EVENTS.upcaster


def registered_events() -> list[type[Event]]:
    return EVENTS.events()


def parse_event(raw: bytes | str) -> Event:
    """Decode any registered event from its JSON (upcast to its current version); unknown
    types raise UnknownEventError, newer versions NewerEventError."""
    return EVENTS.parse(raw)
