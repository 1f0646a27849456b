"""Messages for outbound-svc's unit tests: one as the acceptor queues it, in any state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from as2bus.outbound.domain import Message, Status, new_message_id

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def queued(content: bytes | None = b"ISA*00~", **changes: Any) -> Message:
    """A message with one small document kept inline, due at T0."""
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "request_id": str(uuid.uuid4()),
        "request_sha256": "0" * 64,
        "message_id": new_message_id("MYCO"),
        "station": "MYCO",
        "partner": "ACME",
        "filename": "order.edi",
        "content_type": "application/edi-x12",
        "subject": "an order",
        "document": None,
        "content": content,
        "attachments": None,
        "overrides": None,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": T0,
        "created_at": T0,
        "updated_at": T0,
    }
    return Message(**(fields | changes))


def in_state(status: Status, *, attempts: int = 1, **changes: Any) -> Message:
    """A message as it is after ``attempts`` attempts, now in ``status``."""
    message = queued(status=status, attempts=attempts, **changes)
    if status == "sending":
        message.lease_until = message.lease_until or T0 + LEASE
    if status == "awaiting-mdn":
        message.mdn_mode, message.mic, message.signed_mdn = "async", "mic=, sha256", True
        message.mdn_signature = message.mdn_signature or "required"
        message.mdn_deadline = message.mdn_deadline or T0 + timedelta(hours=1)
    message.persisted = message.version
    return message
