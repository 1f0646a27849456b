"""Which events matter to which rule kinds: each event as the signals it gives.

A partner is failing when a send is retried, or fails for good after its attempts ran out
(code ``attempts-exhausted``, or no code from an older outbound-svc); a failure for another
reason (the partner refused the message, an MDN that does not check out) says the partner
answered. ``mdn-deadline`` is an MDN overdue. Every failure counts for message-failed, about
its Message-ID. A delivered message clears the partner-level trouble (unreachable, MDNs
overdue), but of the failed messages only itself and those it was sent again for (the service
adds those, from the resends' ``replays``); a new certificate under an alias clears its expiry.
"""

from __future__ import annotations

from as2bus.contracts import (
    CertExpired,
    CertExpiring,
    CertImported,
    CertRotated,
    Event,
    MessageDelivered,
    MessageFailed,
    MessageQueued,
    MessageRetrying,
)
from as2bus.notify.domain.conditions import Signal

_PARTNER_KINDS = ("partner-unreachable", "mdn-overdue")
_UNREACHABLE_CODES = {None, "attempts-exhausted"}


def resend_of(event: Event) -> tuple[str, str] | None:
    """(the resend's Message-ID, the Message-ID it sends again) when ``event`` queued one."""
    if isinstance(event, MessageQueued) and event.data.replays:
        return event.data.message_id, event.data.replays
    return None


def signals_of(event: Event) -> list[Signal]:
    at = event.occurred_at
    if isinstance(event, MessageRetrying):
        data = event.data
        detail = f"attempt {data.attempt} of message {data.message_id}: {data.reason}"
        return [Signal("partner-unreachable", data.partner, True, at, detail)]
    if isinstance(event, MessageFailed):
        failure = event.data
        detail = f"message {failure.message_id or failure.request_id}: {failure.reason}"
        about = (failure.message_id,) if failure.message_id else ()
        found = [Signal("message-failed", failure.partner, True, at, detail, about)]
        if failure.code == "mdn-deadline":
            found.append(Signal("mdn-overdue", failure.partner, True, at, detail))
        if failure.code in _UNREACHABLE_CODES:
            found.append(Signal("partner-unreachable", failure.partner, True, at, detail))
        return found
    if isinstance(event, MessageDelivered):
        detail = f"message {event.data.message_id} was delivered"
        found = [Signal(kind, event.data.partner, False, at, detail) for kind in _PARTNER_KINDS]
        settled = (event.data.message_id,)
        return [*found, Signal("message-failed", event.data.partner, False, at, detail, settled)]
    if isinstance(event, CertExpiring | CertExpired):
        expiry = event.data
        when = expiry.not_after.strftime("%Y-%m-%d")
        if isinstance(event, CertExpired):
            detail = f"{expiry.subject} expired on {when}"
        else:
            detail = f"{expiry.subject} expires on {when} ({expiry.days_left} days left)"
        return [Signal("certificate-expiring", expiry.alias, True, at, detail)]
    if isinstance(event, CertImported):
        detail = f"a new certificate was imported (valid until {event.data.not_after:%Y-%m-%d})"
        return [Signal("certificate-expiring", event.data.alias, False, at, detail)]
    if isinstance(event, CertRotated) and event.data.change == "new-certificate":
        detail = f"rotated to a certificate valid until {event.data.certificate.not_after:%Y-%m-%d}"
        return [Signal("certificate-expiring", event.data.alias, False, at, detail)]
    return []
