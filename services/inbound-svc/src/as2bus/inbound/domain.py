"""Rules of receiving, with no I/O: event identity, answers, what counts as which outcome."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

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


@dataclass(frozen=True)
class ReplayWindow:
    """Replay protection's times: a signing time may be ``window`` old at most, and ``skew``
    ahead of our clock at most (the partner's clock may run fast)."""

    window: timedelta
    skew: timedelta

    def refusal(self, signed_at: datetime | None, now: datetime) -> tuple[str, str] | None:
        """(metric reason, sentence) when ``signed_at`` is outside the window; None inside,
        or without a signing time (nothing to judge: such signatures are only deduplicated)."""
        if signed_at is None:
            return None
        if signed_at < now - self.window:
            return "signing-time-too-old", (
                f"the signing time {stamp(signed_at)} is outside the replay window: more than "
                f"{span(self.window)} before our time {stamp(now)}; sign the message again"
            )
        if signed_at > now + self.skew:
            return "signing-time-in-future", (
                f"the signing time {stamp(signed_at)} is outside the replay window: more than "
                f"{span(self.skew)} after our time {stamp(now)}; check the sender's clock"
            )
        return None

    def kept_until(self, signed_at: datetime | None, now: datetime) -> datetime:
        """How long a signature accepted ``now`` is remembered: until its signing time falls
        out of the window anyway (with the skew as a margin); without a signing time, a
        window from now."""
        return (signed_at or now) + self.window + self.skew


def stamp(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def span(length: timedelta) -> str:
    """A duration as people say it: "48 hours", "15 minutes", "90 seconds"."""
    seconds = int(length.total_seconds())
    for unit, size in (("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} seconds"
