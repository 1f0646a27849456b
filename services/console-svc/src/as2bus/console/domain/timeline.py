"""A message's timeline as an operator reads it: each event tracklog-svc recorded, named in
words ("attempt started", "MDN received") rather than by its event class ("AttemptStarted"),
with the times inside tracklog-svc's line about it ("next attempt at 2026-12-05 23:56:49Z")
marked, so that the page shows them in the browser's zone like every other time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
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


#: An instant inside a line of text, with its zone (Z or an offset): one without a zone says
#: nothing about where it is, so it stays text.
_INSTANT = re.compile(
    r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})(?![\w:])"
)


@dataclass(frozen=True)
class SummaryPart:
    """A piece of a summary: text, or (``time``) an ISO instant the page shows as a time."""

    text: str
    time: bool = False


@dataclass(frozen=True)
class TimelineStep:
    what: str  # the event in words
    at: str  # when it happened (ISO, UTC)
    summary: str  # tracklog-svc's line about it

    @property
    def summary_parts(self) -> list[SummaryPart]:
        """The summary in pieces, each instant in it in ISO 8601 and UTC
        ("2026-12-05T23:56:49Z"): the page writes the text escaped and each instant as a
        <time> element."""
        parts: list[SummaryPart] = []
        start = 0
        for found in _INSTANT.finditer(self.summary):
            date, clock, zone = found.groups()
            try:
                instant = datetime.fromisoformat(f"{date}T{clock}{zone}").astimezone(UTC)
            except ValueError:  # a date that is no date (month 13): text as it came
                continue
            if found.start() > start:
                parts.append(SummaryPart(self.summary[start : found.start()]))
            # In UTC, as the page's other times are before the browser writes them locally.
            parts.append(SummaryPart(instant.isoformat().replace("+00:00", "Z"), time=True))
            start = found.end()
        if start < len(self.summary):
            parts.append(SummaryPart(self.summary[start:]))
        return parts


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
