"""The terminal events of a message: exactly one MessageDelivered or MessageFailed ends every
accepted request, carrying what a publisher needs to act without joining other events."""

from __future__ import annotations

from typing import Protocol

from as2bus.contracts import (
    Delivery,
    Failure,
    MdnReport,
    MdnSummary,
    MessageDelivered,
    MessageFailed,
    Verdict,
)


class Sent(Protocol):
    """What the terminal events name of a message (domain/message.py's Message)."""

    @property
    def request_id(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def station(self) -> str: ...
    @property
    def partner(self) -> str: ...
    @property
    def attempts(self) -> int: ...


def delivered(message: Sent, verdict: Verdict, mdn: MdnReport | None) -> MessageDelivered:
    """``mdn``: the receipt (None: no MDN was asked for)."""
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
        request_id=message.request_id,
        message_id=message.message_id,
        station=message.station,
        partner=message.partner,
        attempts=message.attempts,
        status=verdict.status,
        code=verdict.code,
        reason=verdict.reason,
        mdn=summary,
    )
    return MessageDelivered(correlation_id=message.message_id, data=delivery)


def failed(message: Sent, code: str, reason: str, http_status: int | None) -> MessageFailed:
    """``http_status``: the partner's answer to the last attempt, when the failure came with
    one (None: no HTTP answer, or the failure came after the attempt)."""
    failure = Failure(
        request_id=message.request_id,
        message_id=message.message_id,
        station=message.station,
        partner=message.partner,
        attempts=message.attempts,
        reason=reason,
        code=code,
        http_status=http_status,
    )
    return MessageFailed(correlation_id=message.message_id, data=failure)
