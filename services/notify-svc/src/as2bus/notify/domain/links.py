"""Where in the console a notice's reader goes next: a failed message's TrackLog entry (found
by its Message-ID: notify-svc does not know tracklog-svc's row ids), a partner's health, the
certificates. Every value in a link is URL-encoded: a Message-ID holds ``<``, ``@``, ``>``
and may hold ``&`` or ``#``."""

from __future__ import annotations

from urllib.parse import quote, urlencode


def _query(**values: str) -> str:
    return urlencode(values, quote_via=quote)


def console_path(kind: str, subject: str, messages: tuple[str, ...]) -> str:
    """The console page of a notice about ``subject``; ``messages``: the Message-IDs it is about."""
    if kind == "certificate-expiring":
        return "/certificates"
    if kind == "message-failed":
        if len(messages) == 1:
            return f"/tracklog?{_query(q=messages[0])}"
        return f"/tracklog?{_query(partner=subject, status='failed', resent='false')}"
    return "/health"  # the partner-level kinds


def console_link(
    base: str | None, kind: str, subject: str, messages: tuple[str, ...]
) -> str | None:
    """The full link, or None when the console's address is not configured."""
    if not base:
        return None
    return base.rstrip("/") + console_path(kind, subject, messages)
