"""The use cases on fakes: events become incidents and queued deliveries, once each, across a
restart (a new Notifier on the same store); the dispatcher sends each delivery on its own and
tries a failed one again later."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from as2bus.contracts import Delivery, Failure, MessageDelivered, MessageFailed, MessageRetrying
from as2bus.contracts.outbound import Retry
from as2bus.notify.dispatch import Dispatcher
from as2bus.notify.domain.incidents import Rule
from as2bus.notify.ports import Channel, SetupUnavailableError
from as2bus.notify.service import Notifier

from ..fakes import FakeSetup, RecordingSender, Store, Units

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RULE = Rule("rule-1", "partner down", "partner-unreachable", 10, 60, ("hook", "mail"))
CHANNELS = [
    Channel("hook", "ops webhook", True, {"type": "webhook", "url": "https://x"}),
    Channel("mail", "ops mail", True, {"type": "email", "host": "smtp"}),
]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def retrying(at: datetime, partner: str = "ACME") -> MessageRetrying:
    data = Retry(request_id="r", message_id=f"<{uuid.uuid4()}@x>", station="US", partner=partner,
                 attempt=1, reason="connection refused", next_attempt_at=at)  # fmt: skip
    return MessageRetrying(data=data, occurred_at=at)


def delivered(at: datetime, partner: str = "ACME") -> MessageDelivered:
    data = Delivery(request_id="r", message_id="<m@x>", station="US", partner=partner,
                    attempts=1, status="delivered")  # fmt: skip
    return MessageDelivered(data=data, occurred_at=at)


def failed(at: datetime, code: str) -> MessageFailed:
    data = Failure(request_id="r", message_id="<m@x>", station="US", partner="ACME",
                   attempts=3, reason="no MDN in time", code=code)  # fmt: skip
    return MessageFailed(data=data, occurred_at=at)


@pytest.fixture
def store() -> Store:
    return Store()


def notifier(store: Store, clock: Clock, rules: list[Rule] | None = None) -> Notifier:
    return Notifier(Units(store), FakeSetup(rules or [RULE], CHANNELS), clock=clock)


def states(store: Store) -> list[tuple[str, str]]:
    return sorted((d.channel_id, d.payload["state"]) for d in store.deliveries.values())


async def test_down_for_the_minutes_then_up_is_one_notice_and_one_recovery_per_channel(
    store: Store,
) -> None:
    clock = Clock()
    service = notifier(store, clock)
    for minute in range(3):
        await service.handle(retrying(T0 + timedelta(minutes=minute)))
    clock.now = T0 + timedelta(minutes=9)
    assert await service.tick() == 0
    clock.now = T0 + timedelta(minutes=10)
    assert await service.tick() == 1
    assert states(store) == [("hook", "firing"), ("mail", "firing")]

    # A restart: a new Notifier on the same store. More failures, a redelivered event: nothing.
    service = notifier(store, clock)
    again = retrying(T0 + timedelta(minutes=11))
    for event in (again, again, *(retrying(clock.now) for _ in range(50))):
        assert await service.handle(event) == 0
    clock.now = T0 + timedelta(minutes=12)
    assert await service.tick() == 0
    assert len(store.deliveries) == 2

    assert await service.handle(delivered(clock.now)) == 1
    assert states(store) == [
        ("hook", "firing"), ("hook", "resolved"), ("mail", "firing"), ("mail", "resolved"),
    ]  # fmt: skip
    assert store.incidents == {}


async def test_an_mdn_deadline_is_an_mdn_overdue_and_a_failed_message(store: Store) -> None:
    rules = [
        Rule("a", "mdn late", "mdn-overdue", 0, 60, ("hook",)),
        Rule("b", "failed", "message-failed", 0, 60, ("mail",)),
        Rule("c", "down", "partner-unreachable", 0, 60, ("hook",)),
    ]
    assert await notifier(store, Clock(), rules).handle(failed(T0, "mdn-deadline")) == 2
    kinds = sorted(d.payload["kind"] for d in store.deliveries.values())
    assert kinds == ["mdn-overdue", "message-failed"]  # the partner answered: not unreachable


async def test_without_the_rules_an_event_fails_and_changes_nothing(store: Store) -> None:
    service = notifier(store, Clock())
    service._setup.available = False  # type: ignore[attr-defined]
    with pytest.raises(SetupUnavailableError):
        await service.handle(retrying(T0))
    assert store.incidents == {}
    assert store.processed == set()


async def test_a_deleted_rule_drops_its_incidents_at_the_next_tick(store: Store) -> None:
    clock = Clock()
    await notifier(store, clock).handle(retrying(T0))
    assert len(store.incidents) == 1
    other = Rule("rule-2", "another kind", "message-failed", 10, 60, ("hook",))
    await notifier(store, clock, [other]).tick()
    assert store.incidents == {}


async def test_a_failing_channel_is_tried_again_later_and_holds_up_no_other(store: Store) -> None:
    clock = Clock()
    rule = Rule("rule-1", "down", "partner-unreachable", 0, 60, ("hook", "mail"))
    await notifier(store, clock, [rule]).handle(retrying(T0))
    hook, mail = RecordingSender(failures=1), RecordingSender()
    dispatcher = Dispatcher(
        Units(store), FakeSetup([rule], CHANNELS), {"webhook": hook, "email": mail},
        clock=clock, max_attempts=3, first_pause_seconds=5,
    )  # fmt: skip
    assert await dispatcher.send_due() == 2
    assert [c for c, _ in mail.sent] == ["mail"]
    assert hook.sent == []
    (waiting,) = [d for d in store.deliveries.values() if d.state == "pending"]
    assert waiting.attempts == 1
    assert waiting.next_attempt_at == T0 + timedelta(seconds=5)
    assert waiting.last_error == "the receiver answered HTTP 503 (test)"
    assert await dispatcher.send_due() == 0  # not due yet
    clock.now = T0 + timedelta(seconds=5)
    assert await dispatcher.send_due() == 1
    assert [c for c, _ in hook.sent] == ["hook"]
    assert {d.state for d in store.deliveries.values()} == {"sent"}


async def test_a_delivery_is_given_up_after_its_attempts(store: Store) -> None:
    clock = Clock()
    rule = Rule("rule-1", "down", "partner-unreachable", 0, 60, ("hook",))
    await notifier(store, clock, [rule]).handle(retrying(T0))
    dispatcher = Dispatcher(
        Units(store), FakeSetup([rule], CHANNELS), {"webhook": RecordingSender(failures=9)},
        clock=clock, max_attempts=2, first_pause_seconds=1,
    )  # fmt: skip
    await dispatcher.send_due()
    clock.now += timedelta(seconds=1)
    await dispatcher.send_due()
    (delivery,) = store.deliveries.values()
    assert delivery.state == "failed"
    assert delivery.attempts == 2
    clock.now += timedelta(hours=1)
    assert await dispatcher.send_due() == 0
