"""outbound-svc's domain: the message and its state machine, its documents, the retry rules
and the terminal events. No I/O here (import-linter keeps adapters, SQL and the bus out)."""

from as2bus.outbound.domain.message import (
    DUE,
    FINAL,
    Backlog,
    IllegalTransitionError,
    Message,
    Status,
    Version,
    new_message_id,
)
from as2bus.outbound.domain.rules import backoff, retryable_status

__all__ = [
    "DUE",
    "FINAL",
    "Backlog",
    "IllegalTransitionError",
    "Message",
    "Status",
    "Version",
    "backoff",
    "new_message_id",
    "retryable_status",
]
