"""Claiming due messages for sending, within each partner's concurrency and rate limits.

Across replicas: the partner's ``partner_limits`` row is locked (written first, then read) for
the claim, so the in-flight count and the token bucket are read and changed by one replica at
a time. Within a replica an asyncio lock serialises claims (SQLite has one writer anyway).
A claim is a lease: a replica that dies mid-send stops renewing it, and when it runs out the
message is due again under the same Message-ID (the partner deduplicates by Message-ID). The
attempt number identifies the lease: renewing it and settling the outcome both require it, so
a replica whose lease ran out and was taken over can neither extend nor overwrite it.

Time for the token bucket is read *after* the partner row is locked. A replica that read its
clock before waiting for the lock would otherwise write an older ``refilled_at`` than the
replica that held the lock, and the next claim would count the same interval twice: that is
how two replicas once sent 36 messages/s to a partner limited to 10/s.

Each claim records an AttemptStarted event (attempt N started) in the same transaction, so an
attempt in progress is visible as such without a commit of its own.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from as2bus.outbound.adapters.repository import aware, save_all, to_message
from as2bus.outbound.adapters.tables import messages, outbox, partner_limits
from as2bus.outbound.domain import Message
from as2bus.shared.db import engine_of
from as2bus.shared.outbox import add_to_outbox


@dataclass(frozen=True)
class Limits:
    max_concurrency: int
    rate_per_second: float | None  # None: no rate limit


def _due(now: datetime) -> sa.ColumnElement[bool]:
    waiting = sa.and_(
        messages.c.status.in_(("queued", "retrying")), messages.c.next_attempt_at <= now
    )
    abandoned = sa.and_(messages.c.status == "sending", messages.c.lease_until < now)
    return sa.or_(waiting, abandoned)


class Claims:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        lease: timedelta,
        *,
        after_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine_of(sessions)  # core statements only: no ORM session around them
        self._lease = lease
        self._lock = asyncio.Lock()
        self._after_commit = after_commit

    async def hurry(self, partner: str, now: datetime) -> int:
        """``partner``'s retrying messages due now instead of at their next attempt (the cause
        was fixed: a partner back up, a URL corrected); how many. Their attempts count as
        before; queued and sending ones are left as they are."""
        async with self._engine.begin() as session:
            done = await session.execute(
                sa.update(messages)
                .where(
                    messages.c.partner == partner,
                    messages.c.status == "retrying",
                    messages.c.next_attempt_at > now,
                )
                .values(next_attempt_at=now)
            )
        return int(done.rowcount)

    async def due_partners(self, now: datetime, limit: int = 50) -> list[str]:
        async with self._engine.connect() as session:
            query = sa.select(messages.c.partner).where(_due(now)).distinct().limit(limit)
            return list((await session.scalars(query)).all())

    async def claim(
        self, partner: str, limits: Limits, clock: Callable[[], datetime]
    ) -> Message | None:
        """The oldest due message of ``partner``, now ``sending`` under our lease, or None."""
        claimed = await self.claim_many(partner, limits, clock, at_most=1)
        return claimed[0] if claimed else None

    async def claim_many(
        self,
        partner: str,
        limits: Limits,
        clock: Callable[[], datetime],
        *,
        at_most: int,
        held: Callable[[str], None] = lambda _limit: None,
    ) -> list[Message]:
        """Up to ``at_most`` of ``partner``'s oldest due messages, as many as its concurrency
        and rate limits allow now, each ``sending`` under our lease; one transaction for all
        (a burst used to cost a transaction per message). When a limit leaves no room,
        ``held`` hears which: ``concurrency`` or ``rate``."""
        async with self._lock, self._engine.begin() as session:
            bucket, now = await self._lock_partner(session, partner, limits, clock)
            in_flight = await session.scalar(
                sa.select(sa.func.count())
                .select_from(messages)
                .where(
                    messages.c.partner == partner,
                    messages.c.status == "sending",
                    messages.c.lease_until >= now,
                )
            )
            free = limits.max_concurrency - (in_flight or 0)
            tokens = math.floor(bucket) if limits.rate_per_second is not None else at_most
            room = min(at_most, free, tokens)
            if room < 1:
                held("concurrency" if free < 1 else "rate")
                return []
            rows = (
                (
                    await session.execute(
                        sa.select(messages)
                        .where(messages.c.partner == partner, _due(now))
                        .order_by(messages.c.created_at)
                        .limit(room)
                        .with_for_update(skip_locked=True)
                    )
                )
                .mappings()
                .all()
            )
            if not rows:
                return []
            claimed = [to_message(row) for row in rows]
            started = [message.claim(now, self._lease) for message in claimed]
            await save_all(session, claimed)  # locked above: each is still the version read
            if limits.rate_per_second is not None:
                await session.execute(
                    sa.update(partner_limits)
                    .where(partner_limits.c.partner == partner)
                    .values(tokens=bucket - len(rows), refilled_at=now)
                )  # ``now`` is never behind the stored refilled_at: see _lock_partner
            await add_to_outbox(session, outbox, *started)
        self._after_commit()
        return claimed

    async def usage(
        self, partner: str, rate: float | None, now: datetime
    ) -> tuple[int, float | None]:
        """(sends in progress to the partner, send tokens available now; None: no rate
        limit). A read for the console, without the claim's lock: a moment's view."""
        async with self._engine.connect() as session:
            in_flight = await session.scalar(
                sa.select(sa.func.count())
                .select_from(messages)
                .where(messages.c.partner == partner, messages.c.status == "sending")
            )
            row = (
                await session.execute(
                    sa.select(partner_limits).where(partner_limits.c.partner == partner)
                )
            ).first()
        if rate is None:
            return int(in_flight or 0), None
        burst = max(1.0, rate)
        if row is None:
            return int(in_flight or 0), burst
        elapsed = max(0.0, (now - (aware(row.refilled_at) or now)).total_seconds())
        return int(in_flight or 0), min(burst, float(row.tokens) + elapsed * rate)

    async def renew(self, message_id: uuid.UUID, attempt: int, now: datetime) -> bool:
        """Extend the lease of attempt ``attempt``; False when it is no longer ours."""
        async with self._engine.begin() as session:
            changed = await session.execute(
                sa.update(messages)
                .where(
                    messages.c.id == message_id,
                    messages.c.status == "sending",
                    messages.c.attempts == attempt,
                )
                .values(lease_until=now + self._lease)
            )
            return bool(changed.rowcount)

    async def _lock_partner(
        self,
        session: AsyncConnection,
        partner: str,
        limits: Limits,
        clock: Callable[[], datetime],
    ) -> tuple[float, datetime]:
        """Lock the partner's limiter row (creating it); return the tokens available and the
        time they were counted at, read once the lock is held.

        The first statement is a write on purpose: it takes PostgreSQL's row lock and SQLite's
        write lock before anything is read, so no two claims decide on the same snapshot
        (SQLite ignores FOR UPDATE, and a deferred transaction would read first).
        """
        rate = limits.rate_per_second
        burst = max(1.0, rate) if rate else 0.0
        touch = (
            sa.update(partner_limits)
            .where(partner_limits.c.partner == partner)
            .values(partner=partner_limits.c.partner)
        )
        if (await session.execute(touch)).rowcount == 0:
            now = clock()
            try:
                async with session.begin_nested():
                    await session.execute(
                        sa.insert(partner_limits).values(
                            partner=partner, tokens=burst, refilled_at=now
                        )
                    )
            except sa.exc.IntegrityError:
                await session.execute(touch)  # another replica created it first: lock it now
        query = (
            sa.select(partner_limits).where(partner_limits.c.partner == partner).with_for_update()
        )
        row = (await session.execute(query)).one()
        # Replicas' clocks may disagree a little: never count time before the last refill.
        now = clock()
        refilled_at = aware(row.refilled_at) or now
        now = max(now, refilled_at)
        if rate is None:
            return float("inf"), now
        elapsed = (now - refilled_at).total_seconds()
        return min(burst, float(row.tokens) + elapsed * rate), now
