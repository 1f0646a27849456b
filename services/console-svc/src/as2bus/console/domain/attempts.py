"""A message's attempts from its timeline: when each started, how it ended (the partner's HTTP
status, or why it failed) and how long it took."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass
class Attempt:
    number: int
    started_at: str | None = None
    ended_at: str | None = None
    http_status: int | None = None
    outcome: str = "in progress"

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.ended_at is None:
            return None
        started = datetime.fromisoformat(self.started_at)
        ended = datetime.fromisoformat(self.ended_at)
        return int((ended - started).total_seconds() * 1000)


def attempts(timeline: list[dict[str, Any]]) -> list[Attempt]:
    found: dict[int, Attempt] = {}
    for entry in timeline:
        data, kind, at = entry.get("data") or {}, entry["event_type"], entry["occurred_at"]
        number = data.get("attempt") or data.get("attempts")
        if not isinstance(number, int) or (kind not in _ENDINGS and kind != "AttemptStarted"):
            continue
        attempt = found.setdefault(number, Attempt(number))
        if kind == "AttemptStarted":
            attempt.started_at = at
            continue
        attempt.ended_at = at
        attempt.http_status = _answered(data) or attempt.http_status
        attempt.outcome = _ENDINGS[kind](data)
    return [found[n] for n in sorted(found)]


#: The status a failed attempt's reason names ("HTTP 404 from https://..."): a fallback
#: for MessageRetrying and MessageFailed stored before they carried ``http_status``.
_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def _answered(data: dict[str, Any]) -> int | None:
    if isinstance(data.get("http_status"), int):
        return int(data["http_status"])
    found = _HTTP_STATUS.search(str(data.get("reason") or ""))
    return int(found.group(1)) if found else None


def _taken(data: dict[str, Any]) -> str:
    taken = f"the partner took it (MDN {data.get('mdn_mode', '?')})"
    posted_to = data.get("posted_to")
    return f"{taken}, posted to {posted_to} after a redirect" if posted_to else taken


_ENDINGS: dict[str, Callable[[dict[str, Any]], str]] = {
    "MessageSent": _taken,
    "MessageRetrying": lambda d: f"failed, retried: {d.get('reason')}",
    "MessageFailed": lambda d: f"failed: {d.get('reason')}",
}


@dataclass(frozen=True)
class RequestRecord:
    """The AS2 request as sent (outbound: the latest attempt) or received (inbound)."""

    headers: dict[str, str]
    signed_with: str | None = None  # certificate fingerprints, cert-svc's form
    encrypted_for: str | None = None
    raw: dict[str, Any] | None = None  # DocumentRef of the message byte for byte; None: not kept


def request_record(timeline: list[dict[str, Any]]) -> RequestRecord | None:
    for entry in reversed(timeline):
        data = entry.get("data") or {}
        if entry["event_type"] in ("MessageSent", "MessageReceived") and data.get("headers"):
            return RequestRecord(data["headers"], data.get("signed_with"),
                                 data.get("encrypted_for"), data.get("raw"))  # fmt: skip
    return None
