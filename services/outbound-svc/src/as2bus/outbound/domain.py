"""Outbound rules with no I/O: states, what is worth a retry, and what an MDN means.

    queued ─claim─▶ sending ─2xx, sync MDN─▶ delivered | delivered-with-warnings | failed
                      │  └─2xx, async MDN──▶ awaiting-mdn ─MdnReceived─▶ (as above)
                      │                            └─deadline─▶ failed, or queued again
                      └─retryable error─▶ retrying ─due─▶ sending …  (max attempts → failed)

The judgement of an MDN is strict on purpose: a receipt that cannot prove delivery (unsigned
when we asked for a signature, a signature that does not verify, no MIC, a MIC that is not
ours) is a failure, never a quiet success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

Status = Literal[
    "queued",
    "sending",
    "retrying",
    "awaiting-mdn",
    "delivered",
    "delivered-with-warnings",
    "failed",
]
FINAL: frozenset[str] = frozenset({"delivered", "delivered-with-warnings", "failed"})
DUE: frozenset[str] = frozenset({"queued", "retrying"})

_RETRYABLE_STATUS = {408, 425, 429}


def retryable_status(status_code: int) -> bool:
    """5xx and the few 4xx that mean 'later' are retried; other 4xx will not get better."""
    return status_code >= 500 or status_code in _RETRYABLE_STATUS


def backoff(attempt: int, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential: base, 2 * base, 4 * base ... capped."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempt - 1, 0), max_seconds))


@dataclass(frozen=True)
class MdnFacts:
    disposition: str  # processed | processed/warning | failed
    modifier: str | None
    signed: bool
    signature_valid: bool | None
    mic: str | None


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str | None
    mic_matches: bool | None


def judge_mdn(mdn: MdnFacts, *, expected_mic: str | None, signed_requested: bool) -> Verdict:
    mic_matches = None if expected_mic is None or mdn.mic is None else mdn.mic == expected_mic

    def failed(reason: str) -> Verdict:
        return Verdict("failed", reason, mic_matches)

    if signed_requested and not mdn.signed:
        return failed("the MDN is not signed, though a signed receipt was requested")
    if mdn.signed and mdn.signature_valid is not True:
        return failed("the MDN's signature does not verify with the partner's certificate")
    if mdn.disposition == "failed" or (mdn.modifier and "error" in mdn.disposition):
        return failed(f"the partner reported a failure: {mdn.modifier or mdn.disposition}")
    if expected_mic is not None and mdn.mic is None:
        return failed("the MDN carries no Received-Content-MIC")
    if mic_matches is False:
        return failed(f"MIC mismatch: the partner computed {mdn.mic}, we sent {expected_mic}")
    if mdn.disposition == "processed/warning":
        return Verdict("delivered-with-warnings", mdn.modifier, mic_matches)
    return Verdict("delivered", None, mic_matches)
