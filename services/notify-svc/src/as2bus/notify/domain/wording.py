"""What a notice says, in words an operator understands: a title (the e-mail's subject) and a
few sentences (the webhook's ``summary`` and the e-mail's body)."""

from __future__ import annotations

from datetime import datetime, timedelta


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _lasted(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return f"{int(span.total_seconds())} seconds"
    if minutes < 120:
        return f"{minutes} minute{'s' * (minutes != 1)}"
    return f"{minutes // 60} hours {minutes % 60} minutes"


def _times(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


_TROUBLE = {
    "partner-unreachable": ("partner {s} unreachable", "Partner {s} has not been reachable since "
                            "{first}: {n} without a delivery."),
    "message-failed": ("messages to {s} failed", "{n} to partner {s} failed for good since {first}"
                       "; they will not be retried unless sent again."),
    "mdn-overdue": ("MDNs from {s} overdue", "{n} to partner {s} failed since {first} because the "
                    "partner's receipt (MDN) did not arrive in time."),
    "certificate-expiring": ("certificate {s} expiring", "Certificate {s} needs replacing."),
}  # fmt: skip
_COUNTED = {
    "partner-unreachable": ("failed or retried attempt", "failed or retried attempts"),
    "message-failed": ("message", "messages"),
    "mdn-overdue": ("message", "messages"),
    "certificate-expiring": ("warning", "warnings"),
}
_RECOVERED = {
    "partner-unreachable": "Partner {s} is reachable again: a message was delivered at {at}.",
    "message-failed": "The failed messages to partner {s} were sent again and delivered, the "
    "last at {at}.",
    "mdn-overdue": "Partner {s} is taking messages again: one was delivered at {at}.",
    "certificate-expiring": "Certificate {s} was replaced at {at}.",
}


def describe(
    kind: str,
    subject: str,
    *,
    state: str,
    repeat: bool,
    count: int,
    new_count: int,
    first_seen: datetime,
    at: datetime,
    detail: str,
) -> tuple[str, str]:
    one, many = _COUNTED.get(kind, ("event", "events"))
    if state == "resolved":
        text = _RECOVERED.get(kind, "{s} is back to normal at {at}.").format(
            s=subject, at=_when(at)
        )
        lasted = _lasted(at - first_seen)
        text += f" The trouble lasted {lasted} ({_times(count, one, many)})."
        return f"RESOLVED: {_TROUBLE.get(kind, ('{s}', ''))[0].format(s=subject)}", text
    title, sentence = _TROUBLE.get(kind, ("{s} needs attention", "{s} needs attention."))
    text = sentence.format(s=subject, first=_when(first_seen), n=_times(count, one, many))
    if repeat:
        text = f"Still open: {_times(new_count, one, many)} more since the last notice. {text}"
    return (
        f"{'STILL ' if repeat else ''}FIRING: {title.format(s=subject)}",
        f"{text} Last: {detail}",
    )
