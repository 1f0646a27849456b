"""An attempt in progress (AttemptStarted) shows as ``sending`` until that attempt ends, in
tracklog's row (any arrival order) and in the shared verdict ``as2bus send`` folds (issue #16
item 21: a stopped attempt used to leave the previous attempt's status on show)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from as2bus.contracts import (
    AttemptStart,
    AttemptStarted,
    Event,
    MessageQueued,
    MessageRetrying,
    MessageSent,
    OutboundFacts,
    OutboundMessage,
    Retry,
    SendAttempt,
    outbound_verdict,
)
from as2bus.contracts.verdict import known, observe
from as2bus.testing.tracklog import T0, in_memory

IDS = {"request_id": "r1", "message_id": "<m1@myco>", "station": "MYCO", "partner": "acme"}
STOPPED = "outbound-svc stopped during the attempt; retried at once"


def at(seconds: int) -> dict[str, object]:
    return {"correlation_id": "<m1@myco>", "occurred_at": T0 + timedelta(seconds=seconds)}


def started(attempt: int, seconds: int) -> AttemptStarted:
    when = T0 + timedelta(seconds=seconds)
    return AttemptStarted(**at(seconds), data=AttemptStart(**IDS, attempt=attempt,
                                                             started_at=when))  # fmt: skip


QUEUED = MessageQueued(**at(0), data=OutboundMessage(**IDS, filename="a.edi",
                                                     content_type="x", size=1))  # fmt: skip
#: Attempt 1 started, the service stopped and released it, attempt 2 delivered it.
LIFE: list[Event] = [
    QUEUED,
    started(1, 1),
    MessageRetrying(**at(2), data=Retry(**IDS, attempt=1, reason=STOPPED,
                                         next_attempt_at=T0 + timedelta(seconds=2))),
    started(2, 3),
    MessageSent(**at(4), data=SendAttempt(**IDS, attempt=2, http_status=200, mdn_mode="none")),
]  # fmt: skip


def folded(events: list[Event]) -> OutboundFacts:
    facts = OutboundFacts()
    for event in events:
        facts = observe(facts, event)
    return facts


def row(events: list[Event]) -> tuple[str, int, str | None]:
    (only,) = in_memory(events).values()
    return only.status, only.attempts, only.error


def test_each_step_of_an_interrupted_then_retried_message_has_its_status() -> None:
    steps = [row(LIFE[: n + 1]) for n in range(len(LIFE))]
    assert steps == [
        ("queued", 0, None),
        ("sending", 1, "attempt 1 in progress"),
        ("retrying", 1, STOPPED),
        ("sending", 2, "attempt 2 in progress"),
        ("delivered", 2, None),
    ]
    for n in range(1, len(LIFE) + 1):
        verdict = outbound_verdict(folded(LIFE[:n]))
        assert (verdict.status, verdict.reason) == steps[n - 1][::2]


def test_an_attempt_in_progress_is_never_settled() -> None:
    facts = folded(LIFE[:2])
    verdict = outbound_verdict(facts)
    assert verdict.status == "sending"
    assert not verdict.settled
    assert not known(facts, verdict)


def test_the_later_event_wins_whatever_the_arrival_order() -> None:
    for n in range(2, len(LIFE) + 1):
        expected = row(LIFE[:n])
        for order in itertools.permutations(LIFE[:n]):
            assert row(list(order)) == expected, (n, [e.event_type for e in order])
