"""Which row an event belongs to.

Our Message-IDs are unique, so an outbound message is keyed by its Message-ID alone; a
partner's are unique only per partner, so an inbound one by partner and Message-ID. A send
request refused before it had a Message-ID is keyed by its request id, and an event with neither
by its own id. Row ids are uuid5 of the key: the same in every rebuild.
"""

from __future__ import annotations

import uuid

from as2bus.contracts import (
    AttemptStarted,
    Event,
    MdnReceived,
    MdnSent,
    MessageDelivered,
    MessageDuplicate,
    MessageFailed,
    MessageQueued,
    MessageReceived,
    MessageRejected,
    MessageRetrying,
    MessageSent,
)
from as2bus.tracklog.domain import Direction

#: uuid5 namespace of message ids: the same key gives the same id in every rebuild.
_NAMESPACE = uuid.UUID("5b7f3e0e-7a51-4c59-9a3c-2f1d7e0b9a11")


def message_ref(
    direction: Direction,
    *,
    message_id: str | None,
    partner: str | None = None,
    request_id: str | None = None,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """The row id of a message (the rules are in the module's docstring)."""
    if message_id and direction == "outbound":
        key = f"outbound|{message_id}"
    elif message_id:
        key = f"inbound|{partner or ''}|{message_id}"
    elif request_id and direction == "outbound":
        key = f"outbound-request|{request_id}"
    else:
        key = f"event|{event_id}"
    return uuid.uuid5(_NAMESPACE, key)


Located = tuple[uuid.UUID, Direction]


def _in(message_id: str | None, partner: str | None, event: Event) -> Located:
    ref = message_ref("inbound", message_id=message_id, partner=partner, event_id=event.event_id)
    return ref, "inbound"


def _out(message_id: str | None, request_id: str | None, event: Event) -> Located:
    ref = message_ref(
        "outbound", message_id=message_id, request_id=request_id, event_id=event.event_id
    )
    return ref, "outbound"


def locate(event: Event) -> Located | None:
    """The row a message event belongs to; None for any other event."""
    if isinstance(event, MessageRejected):
        d = event.data
        if d.direction == "inbound":
            return _in(d.message_id, d.partner, event)
        return _out(d.message_id, d.request_id, event)
    if isinstance(event, MessageReceived | MessageDuplicate):
        return _in(event.data.message_id, event.data.partner, event)
    if isinstance(event, MdnSent):
        return _in(event.data.original_message_id, event.data.partner, event)
    if isinstance(event, MdnReceived):
        return _out(event.data.original_message_id, None, event)
    if isinstance(
        event,
        MessageQueued
        | AttemptStarted
        | MessageSent
        | MessageRetrying
        | MessageDelivered
        | MessageFailed,
    ):
        return _out(event.data.message_id, event.data.request_id, event)
    return None
