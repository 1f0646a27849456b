"""Use cases: apply an event to the incidents of the rules it concerns, and the periodic tick
that fires incidents whose trouble has lasted long enough. The incidents' new state and the
deliveries of the notices they caused are saved in one transaction, with the event's id
(a redelivered event changes nothing), so a restart neither repeats nor loses a notice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from as2bus.contracts import Event
from as2bus.notify.domain.delivery import deliveries_of
from as2bus.notify.domain.incidents import Incident, Rule, Step, evaluate, observe
from as2bus.notify.ports import SetupSource, UnitOfWork, UnitOfWorkFactory
from as2bus.notify.signals import signals_of

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(
        self,
        units: UnitOfWorkFactory,
        setup: SetupSource,
        *,
        clock: Callable[[], datetime] = utc_now,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._units = units
        self._setup = setup
        self._clock = clock
        self._on_queued = on_queued

    async def handle(self, event: Event) -> int:
        """Apply one event; returns how many notices it caused."""
        signals = signals_of(event)
        if not signals:
            return 0
        rules = [r for r in (await self._setup.current()).rules if r.enabled]
        now = self._clock()
        queued = 0
        async with self._units() as uow:
            if not await uow.first_delivery(event.event_id):
                return 0
            for signal in signals:
                for rule in (r for r in rules if r.kind == signal.kind):
                    incident = await uow.incidents.get(rule.id, signal.subject)
                    step = observe(rule, incident, signal, now)
                    queued += await _record(uow, rule, incident, step, now)
            await uow.commit()
        self._queued(queued)
        return queued

    async def tick(self) -> int:
        """Fire what has waited long enough, summarise what grew; drop the incidents of rules
        that were deleted or disabled. Returns how many notices were queued."""
        rules = {r.id: r for r in (await self._setup.current()).rules if r.enabled}
        now = self._clock()
        queued = 0
        async with self._units() as uow:
            for incident in await uow.incidents.all():
                rule = rules.get(incident.rule_id)
                if rule is None or rule.kind != incident.kind:
                    await uow.incidents.delete(incident.rule_id, incident.subject)
                    continue
                queued += await _record(uow, rule, incident, evaluate(rule, incident, now), now)
            await uow.commit()
        self._queued(queued)
        return queued

    def _queued(self, count: int) -> None:
        if count:
            self._on_queued()


async def _record(
    uow: UnitOfWork, rule: Rule, before: Incident | None, step: Step, now: datetime
) -> int:
    if not step.changed:
        return 0
    if step.incident is not None:
        await uow.incidents.save(step.incident)
    elif before is not None:
        await uow.incidents.delete(before.rule_id, before.subject)
    for notice in step.notices:
        log.info("notice %s: %s (rule %s)", notice.state, notice.title, rule.name)
        for delivery in deliveries_of(notice, now):
            await uow.deliveries.add(delivery)
    return len(step.notices)
