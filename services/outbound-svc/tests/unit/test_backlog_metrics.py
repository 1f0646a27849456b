"""The metrics the dashboards and alerts of deploy/monitoring need from outbound-svc: the
backlog by partner and status, MDNs past their deadline, and claims held back by a
partner's limits. Partners get names of their own: the registry is the process's."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from as2bus.outbound.adapters.claims import Limits
from as2bus.outbound.backlog import STATUSES, BacklogGauges
from as2bus.outbound.domain import Message
from as2bus.outbound.entrypoints.workers import Workers
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.testing.waiting import until

from ..fakes import MessageStore, fake_units_of_work
from .messages import T0, in_state, queued
from .world import outbound


def _partner() -> str:
    return f"P-{uuid.uuid4().hex[:8]}"


def _value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def _backlog(partner: str) -> dict[str, float | None]:
    return {
        s: _value("as2bus_outbound_backlog_messages", partner=partner, status=s) for s in STATUSES
    }


def _keep(store: MessageStore, *messages: Message) -> None:
    for message in messages:
        store.messages[message.message_id] = message


async def test_the_backlog_gauges_count_each_partners_unsettled_messages() -> None:
    store, acme, beta = MessageStore(), _partner(), _partner()
    late = in_state("awaiting-mdn", partner=acme, mdn_deadline=T0 - timedelta(seconds=1))
    _keep(store, late, in_state("awaiting-mdn", partner=acme), queued(partner=acme))
    _keep(store, queued(partner=acme), in_state("retrying", partner=beta))
    _keep(store, in_state("delivered", partner=beta), in_state("failed", partner=acme))
    gauges = BacklogGauges(fake_units_of_work(store), clock=lambda: T0)

    await gauges.refresh()

    assert _backlog(acme) == {"queued": 2, "retrying": 0, "sending": 0, "awaiting-mdn": 2}
    assert _backlog(beta) == {"queued": 0, "retrying": 1, "sending": 0, "awaiting-mdn": 0}
    assert _value("as2bus_outbound_mdn_overdue_messages", partner=acme) == 1
    assert _value("as2bus_outbound_mdn_overdue_messages", partner=beta) == 0


async def test_a_drained_backlog_reads_zero_not_its_last_count() -> None:
    store, partner = MessageStore(), _partner()
    waiting = queued(partner=partner)
    _keep(store, waiting)
    gauges = BacklogGauges(fake_units_of_work(store), clock=lambda: T0)
    await gauges.refresh()
    assert _backlog(partner)["queued"] == 1

    waiting.status = "delivered"
    await gauges.refresh()

    assert _backlog(partner) == dict.fromkeys(STATUSES, 0)
    assert _value("as2bus_outbound_mdn_overdue_messages", partner=partner) == 0


async def test_missed_mdn_deadlines_are_counted_by_what_followed() -> None:
    for resend, outcome in ((False, "failed"), (True, "resent")):
        world, partner = outbound(resend_on_deadline=resend), _partner()
        late = in_state("awaiting-mdn", partner=partner, mdn_deadline=T0 - timedelta(seconds=1))
        _keep(world.store, late, in_state("awaiting-mdn", partner=partner))
        name = "as2bus_outbound_mdn_missed_total"

        assert await world.settlement.expire_deadlines() == 1

        assert _value(name, partner=partner, outcome=outcome) == 1
        assert world.store.stored(late.message_id).status == ("failed" if not resend else "queued")


class HeldClaims:
    """Claims whose partner has a message due that its rate limit holds back; the loop's
    backlog refresh fails the first time (a database away for a moment)."""

    def __init__(self, partner: str) -> None:
        self.partner, self.refreshes = partner, 0

    async def due_partners(self, _now: datetime) -> list[str]:
        return [self.partner]

    async def claim_many(self, _p: str, _l: Limits, _c: object, **kwargs: object) -> list[Message]:
        held = kwargs["held"]
        assert callable(held)
        held("rate")
        return []

    async def expire_deadlines(self) -> int:
        return 0

    async def refresh(self) -> None:
        self.refreshes += 1
        if self.refreshes == 1:
            raise ConnectionError("the database is restarting")


async def test_the_send_loop_counts_limit_waits_and_refreshes_the_backlog() -> None:
    partner = _partner()
    claims = HeldClaims(partner)
    workers = Workers(
        claims,  # type: ignore[arg-type]  # a stand-in for the claims
        ConfigReplica(),
        None,  # type: ignore[arg-type]  # nothing is claimed: the sender is never called
        claims,  # type: ignore[arg-type]  # a stand-in for the settlement
        workers=1,
        clock=lambda: datetime.now(UTC),
        lease_renewal_seconds=100,
        backlog=claims.refresh,
        backlog_check_seconds=0,  # at every pass of the loop
    )
    loop = asyncio.create_task(workers.run())

    def refreshed_again() -> bool:
        workers.wake.set()
        return loop.done() or claims.refreshes >= 3

    await until(refreshed_again, what="backlog refreshes after the failed one", timeout=5)
    assert not loop.done(), loop.exception() if loop.done() else None
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    waits = _value("as2bus_outbound_limit_waits_total", partner=partner, limit="rate")
    assert waits is not None
    assert waits >= 1
