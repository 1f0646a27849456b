"""The terminal events of a message: exactly one MessageDelivered or MessageFailed ends every
accepted request, carrying what a publisher needs to act without joining other events."""

from __future__ import annotations

from typing import Any

from as2bus.shared.contracts import (
    Delivery,
    Failure,
    MdnReport,
    MdnSummary,
    MessageDelivered,
    MessageFailed,
    Verdict,
)


def delivered(row: Any, verdict: Verdict, mdn: MdnReport | None) -> MessageDelivered:
    """``row`` is the message's row; ``mdn`` the receipt (None: no MDN was asked for)."""
    if verdict.status not in ("delivered", "delivered-with-warnings"):
        raise ValueError(f"not a delivery: {verdict.status}")
    summary = None
    if mdn is not None:
        summary = MdnSummary(
            mode=mdn.mode,
            disposition=mdn.disposition,
            modifier=mdn.modifier,
            signed=mdn.signed,
            signature_valid=mdn.signature_valid,
            mic=mdn.mic,
            mic_matches=verdict.mic_matches,
        )
    delivery = Delivery(
        request_id=row["request_id"],
        message_id=row["message_id"],
        station=row["station"],
        partner=row["partner"],
        attempts=row["attempts"],
        status=verdict.status,
        code=verdict.code,
        reason=verdict.reason,
        mdn=summary,
    )
    return MessageDelivered(correlation_id=row["message_id"], data=delivery)


def failed(row: Any, code: str, reason: str) -> MessageFailed:
    failure = Failure(
        request_id=row["request_id"],
        message_id=row["message_id"],
        station=row["station"],
        partner=row["partner"],
        attempts=row["attempts"],
        reason=reason,
        code=code,
    )
    return MessageFailed(correlation_id=row["message_id"], data=failure)
