"""A condition is one kind of trouble with one subject, kept whether or not a rule watches it:
a partner not reachable, a partner's failed messages not yet sent again, a certificate near
its end. It starts at the first failing event and ends at the sign of recovery, so an incident
opened later (a rule created or changed while the trouble lasts) counts from when the trouble
began, not from when the rule came.

Partner-level trouble (unreachable, MDNs overdue) ends when any message to the partner is
delivered: the partner answers again. Failed messages are each their own trouble: they end
when each has been sent again and the resend was delivered (``Signal.messages`` names the
messages a delivery settles); another message getting through settles none of them. A failure
that had no Message-ID cannot be resent by it, so it is held by none and ends, as before, with
the next delivery to the partner once no failed message is left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

#: The failed messages a condition keeps at most: a long outage fails thousands, and the list
#: is one row rewritten at each failure. Those beyond it are counted, not kept, so resending
#: the ones kept ends the condition; the notices' TrackLog link still lists them all.
MOST_MESSAGES_KEPT = 1000


@dataclass(frozen=True)
class Signal:
    """A fact that matters to the rules of ``kind``: the trouble (again), or its end."""

    kind: str
    subject: str
    trouble: bool
    at: datetime
    detail: str  # one sentence on what happened
    #: The Message-IDs it is about: the one that failed, or the ones a delivery settles (the
    #: delivered message and the messages it was sent again for).
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    kind: str
    subject: str
    since: datetime  # the first failing event's time
    last_seen: datetime
    count: int
    detail: str
    #: message-failed: the Message-IDs that failed and were not yet resent and delivered.
    open_messages: tuple[str, ...] = ()


def condition_after(condition: Condition | None, signal: Signal) -> Condition | None:
    """The condition once ``signal`` is applied; None when there is (now) no trouble."""
    if signal.trouble:
        if condition is None:
            return Condition(
                kind=signal.kind, subject=signal.subject, since=signal.at, last_seen=signal.at,
                count=1, detail=signal.detail, open_messages=signal.messages[:MOST_MESSAGES_KEPT],
            )  # fmt: skip
        room = MOST_MESSAGES_KEPT - len(condition.open_messages)
        added = tuple(m for m in signal.messages if m not in condition.open_messages)[:room]
        return replace(
            condition,
            since=min(condition.since, signal.at),
            last_seen=max(condition.last_seen, signal.at),
            count=condition.count + 1,
            detail=signal.detail,
            open_messages=condition.open_messages + added,
        )
    if condition is None or not signal.messages:
        return None  # partner-level recovery, or nothing was wrong
    left = tuple(m for m in condition.open_messages if m not in signal.messages)
    if left:
        return replace(condition, open_messages=left)
    return None
