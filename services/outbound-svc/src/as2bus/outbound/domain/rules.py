"""Outbound rules with no I/O: states, what is worth a retry, and what an MDN means.

    queued ─claim─▶ sending ─2xx, sync MDN─▶ delivered | delivered-with-warnings | failed
                      │  └─2xx, async MDN──▶ awaiting-mdn ─MdnReceived─▶ (as above)
                      │                            └─deadline─▶ failed, or queued again
                      └─retryable error─▶ retrying ─due─▶ sending …  (max attempts → failed)

An MDN is judged by ``as2bus.shared.contracts.judge_mdn``, the rule tracklog-svc and the CLI
apply too: a receipt that cannot prove delivery (unsigned when a signature was required, a
signature that does not verify, a MIC that is not ours) is a failure, never a quiet success.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, cast

from as2bus.shared.contracts import Verdict

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


def settled(verdict: Verdict) -> Status:
    """A message's status after its MDN's verdict: delivered, with warnings, or failed."""
    if verdict.status not in FINAL:
        raise ValueError(f"an MDN's verdict settles a message; got {verdict.status!r}")
    return cast(Status, verdict.status)
