"""Rules of receiving, with no I/O: event identity, answers, what counts as which outcome."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

_NAMESPACE = uuid.UUID("5d0c2f8e-7b1e-4f35-9a53-0b3c1c9e2a10")


def received_event_id(partner: str, message_id: str) -> uuid.UUID:
    """MessageReceived's id is a function of (partner, Message-ID): a message processed again
    after a crash publishes the same event, which JetStream and consumers drop as a repeat."""
    return uuid.uuid5(_NAMESPACE, f"received\n{partner}\n{message_id}")


def document_name(partner: str, message_id: str) -> str:
    """Object-store name: stable for a (partner, Message-ID), safe for any characters."""
    return f"in/{received_event_id(partner, message_id)}"


def attachment_name(document: str, index: int) -> str:
    """Where a message's ``index``-th document after the first (1, 2, ...) is kept, beside the
    first (``document``): stable, so a message processed again after a crash overwrites its
    objects rather than adding more."""
    if index < 1:
        raise ValueError(f"attachments are numbered from 1, not {index}")
    return f"{document}/attachment-{index}"


def as_received_name(document: str) -> str:
    """Where the message as received is kept, beside its document."""
    return f"{document}/as-received"


@dataclass(frozen=True)
class Answer:
    """The HTTP response to a partner's POST."""

    status_code: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def text(status_code: int, reason: str) -> Answer:
        return Answer(status_code, reason.encode() + b"\n", {"Content-Type": "text/plain"})
