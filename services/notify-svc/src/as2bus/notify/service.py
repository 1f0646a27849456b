"""Use cases: apply an event to the trouble it is about (its condition, kept whether a rule
watches it or not) and to the incidents of the rules it concerns, and the periodic tick that
fires incidents whose trouble has lasted long enough and opens the incidents of new rules
about trouble already going on. The new state and the deliveries of the notices it caused are
saved in one transaction, with the event's id (a redelivered event changes nothing), so a
restart neither repeats nor loses a notice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from as2bus.contracts import Event
from as2bus.notify.domain.conditions import Condition, Signal, condition_after
from as2bus.notify.domain.delivery import deliveries_of
from as2bus.notify.domain.incidents import Incident, Rule, Step, adopt, evaluate, observe
from as2bus.notify.domain.links import console_link
from as2bus.notify.ports import SetupSource, UnitOfWork, UnitOfWorkFactory
from as2bus.notify.settling import settled
from as2bus.notify.signals import resend_of, signals_of

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
        console_url: str | None = None,
    ) -> None:
        self._units = units
        self._setup = setup
        self._clock = clock
        self._on_queued = on_queued
        self._console = console_url

    async def handle(self, event: Event) -> int:
        """Apply one event; returns how many notices it caused."""
        signals, resend = signals_of(event), resend_of(event)
        if not signals and resend is None:
            return 0
        rules = [r for r in (await self._setup.current()).rules if r.enabled] if signals else []
        now = self._clock()
        queued = 0
        async with self._units() as uow:
            if not await uow.first_delivery(event.event_id):
                return 0
            if resend is not None:
                await uow.resends.add(*resend)
            for signal in signals:
                signal = await settled(uow.resends, signal)
                condition = await _apply(uow, signal)
                for rule in (r for r in rules if r.kind == signal.kind):
                    incident = await uow.incidents.get(rule.id, signal.subject)
                    step = observe(rule, incident, signal, condition, now)
                    about = condition.open_messages if condition else signal.messages[:1]
                    queued += await self._record(uow, rule, incident, step, now, about)
            await uow.commit()
        self._queued(queued)
        return queued

    async def tick(self) -> int:
        """Fire what has waited long enough, summarise what grew; drop the incidents of rules
        that were deleted or disabled, and open those of new (or newly enabled) rules about
        trouble already going on. Returns how many notices were queued."""
        rules = {r.id: r for r in (await self._setup.current()).rules if r.enabled}
        now = self._clock()
        queued = 0
        async with self._units() as uow:
            watched: set[tuple[str, str]] = set()
            for incident in await uow.incidents.all():
                rule = rules.get(incident.rule_id)
                if rule is None or rule.kind != incident.kind:
                    await uow.incidents.delete(incident.rule_id, incident.subject)
                    continue
                watched.add((rule.id, incident.subject))
                step = evaluate(rule, incident, now)
                about = await uow.conditions.get(incident.kind, incident.subject)
                messages = about.open_messages if about else ()
                queued += await self._record(uow, rule, incident, step, now, messages)
            for condition in await uow.conditions.all():
                for rule in (r for r in rules.values() if r.kind == condition.kind):
                    if (rule.id, condition.subject) not in watched:
                        step = adopt(rule, condition, now)
                        messages = condition.open_messages
                        queued += await self._record(uow, rule, None, step, now, messages)
            await uow.commit()
        self._queued(queued)
        return queued

    async def _record(
        self, uow: UnitOfWork, rule: Rule, before: Incident | None, step: Step, now: datetime,
        messages: tuple[str, ...],
    ) -> int:  # fmt: skip
        """Keep what ``step`` did; queue its notices, linked to the console page of
        ``messages`` (the Message-IDs they are about) when the console's address is set."""
        if not step.changed:
            return 0
        if step.incident is not None:
            await uow.incidents.save(step.incident)
        elif before is not None:
            await uow.incidents.delete(before.rule_id, before.subject)
        for notice in step.notices:
            log.info("notice %s: %s (rule %s)", notice.state, notice.title, rule.name)
            link = console_link(self._console, notice.kind, notice.subject, messages)
            for delivery in deliveries_of(notice, now, link):
                await uow.deliveries.add(delivery)
        return len(step.notices)

    def _queued(self, count: int) -> None:
        if count:
            self._on_queued()


async def _apply(uow: UnitOfWork, signal: Signal) -> Condition | None:
    """The signal's condition, changed and kept (or ended and dropped); None when it ended."""
    before = await uow.conditions.get(signal.kind, signal.subject)
    after = condition_after(before, signal)
    if after is not None:
        await uow.conditions.save(after)
    elif before is not None:
        await uow.conditions.delete(signal.kind, signal.subject)
    return after
