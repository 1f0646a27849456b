"""What one pass of the send loop costs when messages come one at a time, on both databases:
one claim transaction per partner (a second one to find nothing more used to follow every
claim), and an accepted message announced to the outbox relay after its claim has committed,
so its MessageQueued and its AttemptStarted go out in one relay pass rather than two."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.outbound.adapters.claims import Claims, Limits
from as2bus.outbound.adapters.repository import units_of_work
from as2bus.outbound.adapters.tables import messages, outbox
from as2bus.outbound.domain import Message, Status, new_message_id
from as2bus.outbound.entrypoints.workers import Workers
from as2bus.outbound.sending import Policy, Sender
from as2bus.outbound.settle import Settlement
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.testing.waiting import until

Sessions = async_sessionmaker[AsyncSession]


def now() -> datetime:
    return datetime.now(UTC)


class CountedClaims(Claims):
    def __init__(self, sessions: Sessions) -> None:
        super().__init__(sessions, timedelta(minutes=5))
        self.transactions = 0  # claim_many calls: one transaction each
        self.claimed = 0

    async def claim_many(
        self,
        partner: str,
        limits: Limits,
        clock: Callable[[], datetime],
        *,
        at_most: int,
        held: Callable[[str], None] = lambda _limit: None,
    ) -> list[Message]:
        self.transactions += 1
        claimed = await super().claim_many(partner, limits, clock, at_most=at_most, held=held)
        self.claimed += len(claimed)
        return claimed


class WaitingSender(Sender):
    """An attempt that waits for its partner until the test ends."""

    def __init__(self, sessions: Sessions) -> None:
        policy = Policy(
            max_attempts=2,
            backoff_seconds=30,
            backoff_max_seconds=60,
            async_mdn_deadline=timedelta(hours=1),
            async_mdn_url=None,
        )
        super().__init__(
            units_of_work(sessions), ConfigReplica(), None, None, None, policy,  # type: ignore[arg-type]
            clock=now,
        )  # fmt: skip

    async def send(self, message: Message) -> Status:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class RoomyWorkers(Workers):
    """A partner that takes eight at a time (an unknown one takes one)."""

    def limits(self, partner_as2_id: str) -> Limits:
        return Limits(max_concurrency=8, rate_per_second=None)


def workers_for(sessions: Sessions, claims: Claims, announce: Callable[[], None]) -> Workers:
    return RoomyWorkers(
        claims,
        ConfigReplica(),
        WaitingSender(sessions),
        Settlement(units_of_work(sessions), resend_on_deadline=False, clock=now),
        workers=8,
        clock=now,
        lease_renewal_seconds=100,
        announce=announce,
    )


async def queue_one(sessions: Sessions) -> None:
    """A message as the acceptor commits it: its row and its MessageQueued in the outbox."""
    async with sessions() as session, session.begin():
        await session.execute(
            sa.insert(messages).values(
                id=uuid.uuid4(), request_id=str(uuid.uuid4()), message_id=new_message_id("MYCO"),
                station="MYCO", partner="acme", filename=None, content_type="x", subject="s",
                document=None, content=b"EDI", status="queued", attempts=0,
                next_attempt_at=now() - timedelta(seconds=1), signed_mdn=False,
                created_at=now(), updated_at=now(),
            )
        )  # fmt: skip
        await session.execute(
            sa.insert(outbox).values(event_id=uuid.uuid4(), payload="{}", created_at=now())
        )


async def outbox_rows(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(outbox)) or 0)


async def test_messages_one_at_a_time_cost_one_claim_and_one_announcement_each(
    sessions: Sessions,
) -> None:
    claims = CountedClaims(sessions)
    seen_by_relay: list[int] = []  # outbox rows there when the relay was told to look
    tasks: list[asyncio.Task[None]] = []

    def announce() -> None:  # the relay's wake-up: what would its pass find now?
        tasks.append(asyncio.ensure_future(_look(sessions, seen_by_relay)))

    workers = workers_for(sessions, claims, announce)
    loop = asyncio.create_task(workers.run())
    try:
        for sent in range(1, 4):
            await queue_one(sessions)
            workers.accepted()  # what the acceptor's commit calls
            await until(lambda: claims.claimed == sent, what="the claim", timeout=5)  # noqa: B023
            await until(lambda: len(seen_by_relay) == sent, what="the relay told")  # noqa: B023
            await asyncio.gather(*tasks)
            # Told after the claim: the MessageQueued and the AttemptStarted are both there
            # (2 new rows; nothing relays them in this test, so they add up).
            assert seen_by_relay[-1] == 2 * sent
        # One claim transaction per message; the pass that followed each claim asked again
        # and found nothing before (6 here).
        assert claims.transactions == 3
        workers.wake.set()  # a pass without an accepted message tells the relay nothing
        await asyncio.sleep(0.1)
        assert len(seen_by_relay) == 3
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await workers.stop(0)


async def _look(sessions: Sessions, seen: list[int]) -> None:
    seen.append(await outbox_rows(sessions))


async def test_a_stopping_send_loop_tells_the_relay_at_once(sessions: Sessions) -> None:
    told: list[bool] = []
    workers = workers_for(sessions, CountedClaims(sessions), lambda: told.append(True))
    await workers.stop(0)  # no pass will come: the message's event must not wait for one
    workers.accepted()
    assert told == [True]
