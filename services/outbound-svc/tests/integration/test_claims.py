"""The partner limiter on both databases: concurrency and rate hold under concurrent claims,
and a dead replica's lease runs out so its message is sent again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.outbound.adapters.claims import Claims, Limits
from as2bus.outbound.adapters.tables import messages
from as2bus.outbound.domain import new_message_id

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def at(when: datetime) -> Callable[[], datetime]:
    return lambda: when


async def queue(sessions: Sessions, partner: str, count: int) -> None:
    async with sessions() as session, session.begin():
        for n in range(count):
            await session.execute(
                sa.insert(messages).values(
                    id=uuid.uuid4(),
                    request_id=f"{partner}-{n}",
                    message_id=new_message_id("MYCO"),
                    station="MYCO",
                    partner=partner,
                    filename=None,
                    content_type="x",
                    subject="s",
                    document={},
                    status="queued",
                    attempts=0,
                    next_attempt_at=T0 - timedelta(seconds=1),
                    signed_mdn=True,
                    created_at=T0 + timedelta(microseconds=n),
                    updated_at=T0,
                )
            )


async def test_concurrency_holds_under_many_concurrent_claims(sessions: Sessions) -> None:
    await queue(sessions, "acme", 30)
    # Several independent claimers stand for several replicas (each with its own lock).
    replicas = [Claims(sessions, timedelta(minutes=5)) for _ in range(4)]
    limits = Limits(max_concurrency=5, rate_per_second=None)
    results = await asyncio.gather(
        *(r.claim("acme", limits, at(T0)) for r in replicas for _ in range(5))
    )
    claimed = [r for r in results if r is not None]
    assert len(claimed) == 5
    assert len({r.id for r in claimed}) == 5
    assert all(r.attempts == 1 for r in claimed)


async def test_the_rate_limit_refills_with_time(sessions: Sessions) -> None:
    await queue(sessions, "acme", 10)
    claims = Claims(sessions, timedelta(minutes=5))
    limits = Limits(max_concurrency=25, rate_per_second=2)
    first_second = [await claims.claim("acme", limits, at(T0)) for _ in range(5)]
    assert sum(r is not None for r in first_second) == 2  # the burst
    half_later = [
        await claims.claim("acme", limits, at(T0 + timedelta(seconds=0.5))) for _ in range(3)
    ]
    assert sum(r is not None for r in half_later) == 1  # 0.5 s at 2/s = one token


async def test_an_abandoned_lease_makes_the_message_due_again(sessions: Sessions) -> None:
    await queue(sessions, "acme", 1)
    claims = Claims(sessions, timedelta(seconds=30))
    limits = Limits(max_concurrency=1, rate_per_second=None)
    first = await claims.claim("acme", limits, at(T0))
    assert first is not None
    assert (
        await claims.claim("acme", limits, at(T0 + timedelta(seconds=10))) is None
    )  # still leased
    assert await claims.due_partners(T0 + timedelta(seconds=10)) == []
    later = T0 + timedelta(seconds=31)
    assert await claims.due_partners(later) == ["acme"]
    again = await claims.claim("acme", limits, at(later))
    assert again is not None
    assert (again.id, again.message_id, again.attempts) == (
        first.id,
        first.message_id,
        2,
    )


async def test_partners_do_not_share_limits(sessions: Sessions) -> None:
    await queue(sessions, "acme", 3)
    await queue(sessions, "globex", 3)
    claims = Claims(sessions, timedelta(minutes=5))
    one = Limits(max_concurrency=1, rate_per_second=None)
    assert await claims.claim("acme", one, at(T0)) is not None
    assert await claims.claim("acme", one, at(T0)) is None
    assert await claims.claim("globex", one, at(T0)) is not None


async def test_a_replica_with_an_older_clock_reading_cannot_refill_the_bucket_twice(
    sessions: Sessions,
) -> None:
    """Two replicas once sent 36/s to a partner limited to 10/s: one read its clock, waited for
    the partner lock, then wrote an older refill time, so the next claim counted the same
    interval again. The refill time never moves back now."""
    await queue(sessions, "acme", 10)
    fast, slow = Claims(sessions, timedelta(minutes=5)), Claims(sessions, timedelta(minutes=5))
    limits = Limits(max_concurrency=25, rate_per_second=2)
    assert await fast.claim("acme", limits, at(T0)) is not None  # burst 2 -> 1 left
    assert await fast.claim("acme", limits, at(T0 + timedelta(seconds=1))) is not None  # 2 -> 1
    # The other replica's reading is half a second old: the token left is still one.
    assert await slow.claim("acme", limits, at(T0 + timedelta(seconds=0.5))) is not None
    assert await slow.claim("acme", limits, at(T0 + timedelta(seconds=0.5))) is None
    # Half a second after the last real refill is one more token, not two.
    later = [await fast.claim("acme", limits, at(T0 + timedelta(seconds=1.5))) for _ in range(3)]
    assert sum(r is not None for r in later) == 1


async def test_a_lease_is_renewed_only_by_the_attempt_that_holds_it(sessions: Sessions) -> None:
    await queue(sessions, "acme", 1)
    claims = Claims(sessions, timedelta(seconds=30))
    limits = Limits(max_concurrency=1, rate_per_second=None)
    first = await claims.claim("acme", limits, at(T0))
    assert first is not None
    # Renewed at +20 s, the lease holds past its first end (+30 s) until +50 s.
    assert await claims.renew(first.id, first.attempts, T0 + timedelta(seconds=20))
    assert await claims.due_partners(T0 + timedelta(seconds=40)) == []
    taken = await claims.claim("acme", limits, at(T0 + timedelta(seconds=51)))
    assert taken is not None
    assert taken.attempts == 2
    # The first attempt lost the message: it can no longer extend the new owner's lease.
    assert not await claims.renew(first.id, first.attempts, T0 + timedelta(seconds=52))
    assert await claims.renew(taken.id, taken.attempts, T0 + timedelta(seconds=52))


async def test_one_claim_takes_as_many_messages_as_the_limits_allow(sessions: Sessions) -> None:
    await queue(sessions, "acme", 12)
    claims = Claims(sessions, timedelta(minutes=5))
    five = Limits(max_concurrency=5, rate_per_second=None)
    first = await claims.claim_many("acme", five, at(T0), at_most=3)
    assert [r.request_id for r in first] == ["acme-0", "acme-1", "acme-2"]  # oldest first
    assert all(r.attempts == 1 and r.status == "sending" for r in first)
    assert len(await claims.claim_many("acme", five, at(T0), at_most=10)) == 2  # 5 in flight
    assert await claims.claim_many("acme", five, at(T0), at_most=10) == []
    await queue(sessions, "globex", 12)
    rated = Limits(max_concurrency=25, rate_per_second=2)
    assert len(await claims.claim_many("globex", rated, at(T0), at_most=10)) == 2  # the burst
    assert await claims.claim_many("globex", rated, at(T0), at_most=10) == []
    later = await claims.claim_many("globex", rated, at(T0 + timedelta(seconds=1.6)), at_most=10)
    assert len(later) == 2  # 1.6 s at 2/s: 3.2 tokens, but the burst caps the bucket at 2
    async with sessions() as session:
        sending = await session.scalar(
            sa.select(sa.func.count()).select_from(messages).where(messages.c.status == "sending")
        )
    assert sending == 9


async def test_a_claim_held_back_by_a_limit_says_which(sessions: Sessions) -> None:
    """What the send loop counts as a limit wait (as2bus_outbound_limit_waits_total)."""
    await queue(sessions, "acme", 5)
    await queue(sessions, "beta", 5)
    claims, held = Claims(sessions, timedelta(minutes=5)), list[str]()
    one_at_a_time = Limits(max_concurrency=1, rate_per_second=None)
    assert await claims.claim_many("acme", one_at_a_time, at(T0), at_most=5, held=held.append)
    assert held == []
    assert not await claims.claim_many("acme", one_at_a_time, at(T0), at_most=5, held=held.append)
    assert held == ["concurrency"]
    slow = Limits(max_concurrency=10, rate_per_second=0.5)  # a burst of one, then one per 2 s
    assert await claims.claim_many("beta", slow, at(T0), at_most=5, held=held.append)
    assert not await claims.claim_many("beta", slow, at(T0), at_most=5, held=held.append)
    assert held == ["concurrency", "rate"]
