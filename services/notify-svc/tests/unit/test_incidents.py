"""The rules of notifying, on the domain alone: an incident fires once its trouble has lasted
the rule's minutes, says nothing more until a summary is due, and resolves once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from as2bus.notify.domain.conditions import Condition, Signal, condition_after
from as2bus.notify.domain.incidents import Incident, Rule, Step, evaluate, observe

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DOWN = Rule("r1", "partner down", "partner-unreachable", 10, 60, ("c1", "c2"))


def trouble(at: datetime, subject: str = "ACME", kind: str = "partner-unreachable") -> Signal:
    return Signal(kind, subject, True, at, "connection refused")


def cleared(at: datetime, subject: str = "ACME") -> Signal:
    return Signal("partner-unreachable", subject, False, at, "message M1 was delivered")


def feed(rule: Rule, signals: list[Signal], now: datetime) -> tuple[Incident | None, list[Step]]:
    incident, steps, condition = None, [], None
    for signal in signals:
        condition = condition_after(condition, signal)
        step = observe(rule, incident, signal, condition, now)
        incident = step.incident
        steps.append(step)
    return incident, steps


def ongoing(signal: Signal) -> Condition:
    """The condition of trouble that began at ``signal``."""
    made = condition_after(None, signal)
    assert made is not None
    return made


def test_a_partner_failing_for_less_than_the_rules_minutes_is_not_news() -> None:
    incident, steps = feed(DOWN, [trouble(T0 + timedelta(minutes=m)) for m in range(5)], T0)
    assert incident is not None
    assert incident.state == "pending"
    assert incident.count == 5
    assert [n for s in steps for n in s.notices] == []
    assert evaluate(DOWN, incident, T0 + timedelta(minutes=9, seconds=59)).notices == ()


def test_it_fires_once_when_the_minutes_have_passed_and_names_the_partner() -> None:
    incident, _ = feed(DOWN, [trouble(T0), trouble(T0 + timedelta(minutes=3))], T0)
    assert incident is not None
    step = evaluate(DOWN, incident, T0 + timedelta(minutes=10))
    (notice,) = step.notices
    assert notice.state == "firing"
    assert notice.subject == "ACME"
    assert notice.count == 2
    assert notice.channel_ids == ("c1", "c2")
    assert "Partner ACME has not been reachable since 2026-12-01 09:00:00 UTC" in notice.summary
    assert notice.title == "FIRING: partner ACME unreachable"
    fired = step.incident
    assert fired is not None
    assert fired.state == "firing"
    # The next tick, and the one after, have nothing to say.
    assert evaluate(DOWN, fired, T0 + timedelta(minutes=11)).notices == ()


def test_a_thousand_more_failures_are_one_summary_after_repeat_minutes() -> None:
    incident, _ = feed(DOWN, [trouble(T0)], T0)
    assert incident is not None
    fired = evaluate(DOWN, incident, T0 + timedelta(minutes=10)).incident
    now = T0 + timedelta(minutes=20)
    for i in range(1000):
        again = trouble(T0 + timedelta(minutes=10, seconds=i))
        step = observe(DOWN, fired, again, ongoing(trouble(T0)), now)
        assert step.notices == ()
        fired = step.incident
    assert fired is not None
    assert fired.count == 1001
    assert evaluate(DOWN, fired, T0 + timedelta(minutes=69)).notices == ()
    (summary,) = evaluate(DOWN, fired, T0 + timedelta(minutes=70)).notices
    assert summary.new_count == 1000
    assert summary.count == 1001
    assert summary.title.startswith("STILL FIRING")
    assert summary.summary.startswith("Still open: 1000 failed or retried attempts more")


def test_a_rule_that_gathers_for_five_minutes_says_a_thousand_in_one_notice() -> None:
    failed = Rule("r2", "failures", "message-failed", 5, 60, ("c1",))
    signals = [trouble(T0 + timedelta(seconds=i / 4), kind="message-failed") for i in range(1000)]
    incident, steps = feed(failed, signals, T0 + timedelta(minutes=1))
    assert [n for s in steps for n in s.notices] == []
    assert incident is not None
    (notice,) = evaluate(failed, incident, T0 + timedelta(minutes=5)).notices
    assert notice.count == 1000
    assert notice.summary.startswith("1000 messages to partner ACME failed for good")


def test_minutes_zero_fires_with_the_first_event() -> None:
    at_once = Rule("r3", "at once", "message-failed", 0, 60, ("c1",))
    (step,) = feed(at_once, [trouble(T0, kind="message-failed")], T0)[1]
    assert [n.state for n in step.notices] == ["firing"]


def test_recovery_of_a_fired_incident_is_one_resolved_notice_and_closes_it() -> None:
    incident, _ = feed(DOWN, [trouble(T0)], T0)
    assert incident is not None
    fired = evaluate(DOWN, incident, T0 + timedelta(minutes=10)).incident
    step = observe(DOWN, fired, cleared(T0 + timedelta(minutes=42)), None,
                   T0 + timedelta(minutes=42))  # fmt: skip
    (notice,) = step.notices
    assert step.incident is None
    assert step.changed
    assert notice.state == "resolved"
    assert notice.title == "RESOLVED: partner ACME unreachable"
    assert "reachable again" in notice.summary
    assert "lasted 42 minutes" in notice.summary
    # A second delivery finds nothing open: silence.
    assert observe(DOWN, None, cleared(T0 + timedelta(minutes=43)), None, T0) == Step(None)


def test_recovery_before_the_minutes_passed_tells_nobody() -> None:
    incident, _ = feed(DOWN, [trouble(T0)], T0)
    step = observe(DOWN, incident, cleared(T0 + timedelta(minutes=2)), None,
                   T0 + timedelta(minutes=2))  # fmt: skip
    assert step.incident is None
    assert step.notices == ()
    assert step.changed


def test_incidents_are_per_subject() -> None:
    incident, _ = feed(DOWN, [trouble(T0, "ACME")], T0)
    other = observe(DOWN, None, trouble(T0, "GLOBEX"), ongoing(trouble(T0, "GLOBEX")), T0).incident
    assert incident is not None
    assert other is not None
    assert (incident.subject, other.subject) == ("ACME", "GLOBEX")
    assert other.count == 1
