"""A delivery is one notice on its way to one channel. Each is tried on its own (a webhook
that hangs never holds up an e-mail), again with a growing pause after a failure, and given up
after ``max_attempts`` with the reason logged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from as2bus.notify.domain.incidents import Notice

DeliveryState = Literal["pending", "sent", "failed"]
FIRST_PAUSE_SECONDS = 5.0
LONGEST_PAUSE_SECONDS = 15 * 60.0


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    notice_id: uuid.UUID
    channel_id: str
    payload: dict[str, Any]  # the notice as the webhook sends it (notice_payload)
    attempts: int
    next_attempt_at: datetime
    state: DeliveryState = "pending"
    last_error: str | None = None


def pause_after(attempts: int, first: float = FIRST_PAUSE_SECONDS) -> timedelta:
    """5 s, 10 s, 20 s ... up to 15 minutes between attempts."""
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), LONGEST_PAUSE_SECONDS))


def after_failure(
    delivery: Delivery, error: str, now: datetime, *, max_attempts: int, first_pause: float
) -> Delivery:
    attempts = delivery.attempts + 1
    if attempts >= max_attempts:
        return replace(delivery, attempts=attempts, state="failed", last_error=error)
    next_at = now + pause_after(attempts, first_pause)
    return replace(delivery, attempts=attempts, next_attempt_at=next_at, last_error=error)


def notice_payload(notice: Notice, link: str | None = None) -> dict[str, Any]:
    """The notice as JSON: the webhook's body, and what an e-mail is written from; ``link``
    (the console's page of it) only when the console's address is configured."""
    payload: dict[str, Any] = {
        "id": str(notice.id),
        "kind": notice.kind,
        "subject": notice.subject,
        "state": notice.state,
        "title": notice.title,
        "summary": notice.summary,
        "count": notice.count,
        "new_count": notice.new_count,
        "first_seen": notice.first_seen.isoformat(),
        "last_seen": notice.last_seen.isoformat(),
        "at": notice.at.isoformat(),
        "rule": {"id": notice.rule_id, "name": notice.rule_name},
    }
    if link is not None:
        payload["link"] = link
    return payload


def deliveries_of(notice: Notice, now: datetime, link: str | None = None) -> list[Delivery]:
    payload = notice_payload(notice, link)
    return [
        Delivery(id=uuid.uuid4(), notice_id=notice.id, channel_id=channel, payload=payload,
                 attempts=0, next_attempt_at=now)
        for channel in notice.channel_ids
    ]  # fmt: skip
