"""Outbound rules with no state of their own: what is worth a retry, and how long to wait."""

from __future__ import annotations

from datetime import timedelta

_RETRYABLE_STATUS = {408, 425, 429}


def retryable_status(status_code: int) -> bool:
    """5xx and the few 4xx that mean 'later' are retried; other 4xx will not get better."""
    return status_code >= 500 or status_code in _RETRYABLE_STATUS


def backoff(attempt: int, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential: base, 2 * base, 4 * base ... capped."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempt - 1, 0), max_seconds))
