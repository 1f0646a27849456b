"""The trouble a notice is about, on fakes: a failed message is settled by its own resend
being delivered, not by another message getting through; an incident counts from the first
failure even when its rule came later; a rule that is new sees the trouble already going on
(a certificate warned of before it existed) at the next tick."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from as2bus.contracts import (
    CertExpiring,
    Delivery,
    Failure,
    MessageDelivered,
    MessageFailed,
    MessageQueued,
    MessageRetrying,
)
from as2bus.contracts.certs import CertExpiry
from as2bus.contracts.outbound import OutboundMessage, Retry
from as2bus.notify.domain.incidents import Rule
from as2bus.notify.service import Notifier

from ..fakes import FakeSetup, Store, Units

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FAILED = Rule("failed", "failed messages", "message-failed", 0, 60, ("hook",))
DOWN = Rule("down", "partner down", "partner-unreachable", 10, 60, ("hook",))
EXPIRING = Rule("certs", "certificates", "certificate-expiring", 0, 60, ("hook",))


def failed(message_id: str, at: datetime) -> MessageFailed:
    data = Failure(request_id=f"r-{message_id}", message_id=message_id, station="US",
                   partner="ACME", attempts=3, reason="HTTP 403",
                   code="partner-refused")  # fmt: skip
    return MessageFailed(data=data, occurred_at=at)


def delivered(message_id: str, at: datetime) -> MessageDelivered:
    data = Delivery(request_id=f"r-{message_id}", message_id=message_id, station="US",
                    partner="ACME", attempts=1, status="delivered")  # fmt: skip
    return MessageDelivered(data=data, occurred_at=at)


def queued(message_id: str, replays: str, at: datetime) -> MessageQueued:
    data = OutboundMessage(request_id=f"r-{message_id}", message_id=message_id, station="US",
                           partner="ACME", filename="po.edi", content_type="application/edi-x12",
                           size=10, replays=replays)  # fmt: skip
    return MessageQueued(data=data, occurred_at=at)


def retrying(at: datetime) -> MessageRetrying:
    data = Retry(request_id="r", message_id="<m@x>", station="US", partner="ACME", attempt=1,
                 reason="connection refused", next_attempt_at=at)  # fmt: skip
    return MessageRetrying(data=data, occurred_at=at)


def told(store: Store) -> list[tuple[str, str]]:
    return [(d.payload["kind"], d.payload["state"]) for d in store.deliveries.values()]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def test_a_failed_message_is_settled_by_its_resend_not_by_another_message() -> None:
    store, clock = Store(), Clock()
    service = Notifier(Units(store), FakeSetup([FAILED, DOWN]), clock=clock)
    assert await service.handle(failed("<m1@us>", T0)) == 1
    assert await service.handle(delivered("<other@us>", T0 + timedelta(minutes=5))) == 0
    assert told(store) == [("message-failed", "firing")]
    (incident,) = store.incidents.values()
    assert incident.subject == "ACME"

    await service.handle(queued("<m2@us>", "<m1@us>", T0 + timedelta(minutes=20)))
    assert await service.handle(delivered("<m2@us>", T0 + timedelta(minutes=21))) == 1
    assert told(store) == [("message-failed", "firing"), ("message-failed", "resolved")]
    resolved = list(store.deliveries.values())[-1].payload
    assert "sent again and delivered" in resolved["summary"]
    assert "lasted 21 minutes" in resolved["summary"]
    assert (store.incidents, store.conditions, store.resends) == ({}, {}, {})


async def test_an_incident_of_several_failed_messages_waits_for_each_and_a_resend_of_a_resend(
) -> None:  # fmt: skip
    store, clock = Store(), Clock()
    service = Notifier(Units(store), FakeSetup([FAILED]), clock=clock)
    await service.handle(failed("<m1@us>", T0))
    await service.handle(failed("<m2@us>", T0 + timedelta(minutes=1)))
    await service.handle(queued("<m1b@us>", "<m1@us>", T0 + timedelta(minutes=2)))
    await service.handle(failed("<m1b@us>", T0 + timedelta(minutes=3)))  # the resend failed too
    await service.handle(queued("<m1c@us>", "<m1b@us>", T0 + timedelta(minutes=4)))
    assert await service.handle(delivered("<m1c@us>", T0 + timedelta(minutes=5))) == 0
    (condition,) = store.conditions.values()
    assert condition.open_messages == ("<m2@us>",)  # m1 and its failed resend are settled
    await service.handle(queued("<m2b@us>", "<m2@us>", T0 + timedelta(minutes=6)))
    assert await service.handle(delivered("<m2b@us>", T0 + timedelta(minutes=7))) == 1
    assert told(store)[-1] == ("message-failed", "resolved")
    assert store.incidents == {}


async def test_a_partner_down_still_clears_with_any_delivery() -> None:
    store, clock = Store(), Clock()
    service = Notifier(Units(store), FakeSetup([DOWN]), clock=clock)
    await service.handle(retrying(T0))
    clock.now = T0 + timedelta(minutes=10)
    assert await service.tick() == 1
    assert await service.handle(delivered("<any@us>", T0 + timedelta(minutes=12))) == 1
    assert told(store) == [("partner-unreachable", "firing"), ("partner-unreachable", "resolved")]


async def test_a_rule_that_came_later_counts_from_the_first_failure() -> None:
    store, clock, setup = Store(), Clock(), FakeSetup([])
    service = Notifier(Units(store), setup, clock=clock)
    await service.handle(retrying(T0))  # nobody watches yet
    setup.rules = [DOWN]
    clock.now = T0 + timedelta(minutes=30)
    await service.handle(retrying(clock.now))
    (incident,) = store.incidents.values()
    assert incident.first_seen == T0
    assert told(store) == [("partner-unreachable", "firing")]  # down 30 minutes: past the 10
    assert (
        "not been reachable since 2026-12-01 09:00:00 UTC"
        in next(iter(store.deliveries.values())).payload["summary"]
    )
    await service.handle(delivered("<ok@us>", T0 + timedelta(minutes=42)))
    resolved = list(store.deliveries.values())[-1].payload
    assert resolved["state"] == "resolved"
    assert "The trouble lasted 42 minutes" in resolved["summary"]


async def test_a_new_certificate_rule_sees_a_warning_given_before_it_at_the_next_tick() -> None:
    store, clock, setup = Store(), Clock(), FakeSetup([])
    service = Notifier(Units(store), setup, clock=clock)
    expiry = CertExpiry(certificate_id=uuid.UUID(int=7), alias="myco", kind="own",
                        fingerprint_sha256="ab" * 32, subject="CN=myco",
                        not_after=T0 + timedelta(days=14), days_left=14,
                        threshold_days=14)  # fmt: skip
    await service.handle(CertExpiring(data=expiry, occurred_at=T0))
    setup.rules = [EXPIRING]
    clock.now = T0 + timedelta(minutes=3)
    assert await service.tick() == 1
    (delivery,) = store.deliveries.values()
    assert (delivery.payload["kind"], delivery.payload["subject"]) == (
        "certificate-expiring",
        "myco",
    )
    assert delivery.payload["first_seen"] == T0.isoformat()
    assert "expires on 2026-12-15 (14 days left)" in delivery.payload["summary"]
    assert await service.tick() == 0  # told once


def test_a_condition_keeps_a_bounded_list_of_failed_messages() -> None:
    """A long outage fails thousands of messages: the row rewritten at each keeps at most
    MOST_MESSAGES_KEPT of them and counts the rest."""
    from as2bus.notify.domain.conditions import MOST_MESSAGES_KEPT, Signal, condition_after

    at = datetime(2026, 12, 6, tzinfo=UTC)
    condition = None
    for n in range(MOST_MESSAGES_KEPT + 5):
        signal = Signal("message-failed", "ACME", True, at, "failed", (f"<{n}@myco>",))
        condition = condition_after(condition, signal)
    assert condition is not None
    assert len(condition.open_messages) == MOST_MESSAGES_KEPT
    assert condition.count == MOST_MESSAGES_KEPT + 5
    assert condition.open_messages[0] == "<0@myco>"
    # The kept ones resent and delivered: the condition ends.
    settles = Signal("message-failed", "ACME", False, at, "delivered", condition.open_messages)
    assert condition_after(condition, settles) is None
