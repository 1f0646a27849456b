"""A message's timeline as an operator reads it: each event tracklog-svc recorded, named in
words ("attempt started", "MDN received") rather than by its event class ("AttemptStarted")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from as2bus.contracts import (
    AttemptStarted,
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

#: Every message and MDN event a timeline can hold, as the milestones and statuses say it
#: (a refused request is "refused" everywhere in the console, as on the dashboard).
EVENT_WORDS = {
    MessageQueued.__name__: "queued",
    AttemptStarted.__name__: "attempt started",
    MessageSent.__name__: "sent",
    MessageRetrying.__name__: "attempt failed, retrying",
    MessageDelivered.__name__: "delivered",
    MessageFailed.__name__: "failed",
    MessageRejected.__name__: "refused",
    MessageReceived.__name__: "received",
    MessageDuplicate.__name__: "duplicate received",
    MdnSent.__name__: "MDN sent",
    MdnReceived.__name__: "MDN received",
}

#: The words of a class name: an acronym ("MDN", "HTTP", "S3") stays whole, as do numbers.
_WORD = re.compile(r"[A-Z][A-Z0-9]*(?![a-z])|[A-Z]?[a-z]+|\d+")


@dataclass(frozen=True)
class TimelineStep:
    what: str  # the event in words
    at: str  # when it happened (ISO, UTC)
    summary: str  # tracklog-svc's line about it


def event_words(event_type: str) -> str:
    """An event's name in words; one this console does not know yet (a newer tracklog-svc)
    reads as its class name split into words ("MessageArchived": "message archived")."""
    known = EVENT_WORDS.get(event_type)
    if known is not None:
        return known
    words = _WORD.findall(event_type)
    if not words:
        return event_type
    return " ".join(w if len(w) > 1 and w.isupper() else w.lower() for w in words)


def timeline_steps(detail: dict[str, Any]) -> list[TimelineStep]:
    return [
        TimelineStep(event_words(e["event_type"]), e["occurred_at"], e.get("summary") or "")
        for e in detail.get("timeline", [])
    ]
