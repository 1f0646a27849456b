"""An incident is one rule's view of a condition (domain/conditions.py: one kind of trouble with
one subject, a partner or a certificate alias): it opens at the condition's first sign (or,
for a rule that came later, counts from it), fires once the trouble has lasted the rule's
``minutes``, is summarised at most every ``repeat_minutes`` while more of the same comes, and
resolves when the condition ends. A notice goes out only when it fires, when a summary is due,
and when it resolves: an outage of a thousand failures is one notice, a summary or two, and one
recovery notice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from as2bus.notify.domain.conditions import Condition, Signal
from as2bus.notify.domain.wording import describe

IncidentState = Literal["pending", "firing"]
NoticeState = Literal["firing", "resolved"]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    kind: str
    minutes: float
    repeat_minutes: float
    channel_ids: tuple[str, ...]
    enabled: bool = True


@dataclass(frozen=True)
class Incident:
    rule_id: str
    kind: str
    subject: str
    state: IncidentState
    first_seen: datetime
    last_seen: datetime
    count: int
    detail: str
    notified_count: int = 0
    last_notified_at: datetime | None = None


@dataclass(frozen=True)
class Notice:
    """What a person is told; one per firing, summary or recovery (sent to every channel)."""

    rule_id: str
    rule_name: str
    kind: str
    subject: str
    state: NoticeState
    title: str
    summary: str
    count: int
    new_count: int
    first_seen: datetime
    last_seen: datetime
    at: datetime
    channel_ids: tuple[str, ...]
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class Step:
    """What a signal or a tick did to an incident: its new state (None: closed or never
    opened), the notices due, and whether anything needs saving."""

    incident: Incident | None
    notices: tuple[Notice, ...] = ()
    changed: bool = False


def observe(
    rule: Rule, incident: Incident | None, signal: Signal, condition: Condition | None,
    now: datetime,
) -> Step:  # fmt: skip
    """Apply one signal to the rule's incident about ``signal.subject``; ``condition`` is the
    trouble once the signal is applied (None: it ended)."""
    if not signal.trouble:
        if incident is None or condition is not None:
            return Step(incident)  # nothing open, or some of the trouble is left
        if incident.state == "pending":
            return Step(None, changed=True)  # over before anyone needed telling
        notice = _notice(rule, incident, "resolved", now, at=signal.at, detail=signal.detail)
        return Step(None, (notice,), changed=True)
    assert condition is not None, "trouble always leaves a condition"
    if incident is None:
        return adopt(rule, condition, now)
    incident = replace(
        incident,
        count=incident.count + 1,
        last_seen=max(incident.last_seen, signal.at),
        first_seen=min(incident.first_seen, condition.since),
        detail=signal.detail,
    )
    step = evaluate(rule, incident, now)
    return Step(step.incident, step.notices, changed=True)


def adopt(rule: Rule, condition: Condition, now: datetime) -> Step:
    """The rule's incident about a condition it had none of yet (the rule is new, or the
    trouble just began): it counts from the condition's start."""
    incident = Incident(
        rule_id=rule.id, kind=rule.kind, subject=condition.subject, state="pending",
        first_seen=condition.since, last_seen=condition.last_seen, count=condition.count,
        detail=condition.detail,
    )  # fmt: skip
    step = evaluate(rule, incident, now)
    return Step(step.incident, step.notices, changed=True)


def evaluate(rule: Rule, incident: Incident, now: datetime) -> Step:
    """Fire a pending incident whose trouble has lasted long enough; summarise a firing one
    that grew, once ``repeat_minutes`` have passed since it was last told."""
    if incident.state == "pending":
        if now - incident.first_seen < timedelta(minutes=rule.minutes):
            return Step(incident)
        notice = _notice(rule, incident, "firing", now)
        fired = replace(
            incident, state="firing", notified_count=incident.count, last_notified_at=now
        )
        return Step(fired, (notice,), changed=True)
    told = incident.last_notified_at or incident.first_seen
    if incident.count <= incident.notified_count:
        return Step(incident)
    if now - told < timedelta(minutes=rule.repeat_minutes):
        return Step(incident)
    notice = _notice(rule, incident, "firing", now)
    told_again = replace(incident, notified_count=incident.count, last_notified_at=now)
    return Step(told_again, (notice,), changed=True)


def _notice(
    rule: Rule,
    incident: Incident,
    state: NoticeState,
    now: datetime,
    *,
    at: datetime | None = None,
    detail: str | None = None,
) -> Notice:
    new_count = incident.count - incident.notified_count if state == "firing" else 0
    title, summary = describe(
        incident.kind,
        incident.subject,
        state=state,
        repeat=incident.state == "firing" and state == "firing",
        count=incident.count,
        new_count=new_count,
        first_seen=incident.first_seen,
        at=at or now,
        detail=detail or incident.detail,
    )
    return Notice(
        rule_id=rule.id, rule_name=rule.name, kind=incident.kind, subject=incident.subject,
        state=state, title=title, summary=summary, count=incident.count, new_count=new_count,
        first_seen=incident.first_seen, last_seen=incident.last_seen, at=at or now,
        channel_ids=rule.channel_ids,
    )  # fmt: skip
