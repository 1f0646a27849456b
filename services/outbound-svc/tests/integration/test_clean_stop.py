"""A clean stop on both databases: the send loop waits its grace period, then cancels what is
still sending and releases the lease at once (not when it runs out), without counting the
interrupted attempt towards max_attempts; each claim records its AttemptStarted."""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.outbound.adapters.claims import Claims, Limits
from as2bus.outbound.adapters.repository import units_of_work
from as2bus.outbound.adapters.tables import messages, outbox
from as2bus.outbound.domain import Message, Status, new_message_id
from as2bus.outbound.domain.message import STOPPED
from as2bus.outbound.entrypoints.workers import Workers
from as2bus.outbound.sending import Policy, Sender
from as2bus.outbound.settle import Settlement
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.testing.waiting import until

Sessions = async_sessionmaker[AsyncSession]
POLICY = Policy(
    max_attempts=2,
    backoff_seconds=30,
    backoff_max_seconds=60,
    async_mdn_deadline=timedelta(hours=1),
    async_mdn_url=None,
)


def now() -> datetime:
    return datetime.now(UTC)


class StallingSender(Sender):
    """Sends nothing: an attempt that waits for its partner until it is cancelled (or, with
    ``crash``, breaks at once; with ``answer_after``, is delivered after that many seconds)."""

    def __init__(
        self, sessions: Sessions, *, crash: bool = False, answer_after: float | None = None
    ) -> None:
        super().__init__(
            units_of_work(sessions), ConfigReplica(), None, None, None, POLICY,  # type: ignore[arg-type]
            clock=now,
        )  # fmt: skip
        self.started = asyncio.Event()
        self._crash = crash
        self._answer_after = answer_after

    async def send(self, message: Message) -> Status:
        self.started.set()
        if self._crash:
            raise RuntimeError("boom")
        if self._answer_after is not None:  # a partner that answers within the grace period
            await asyncio.sleep(self._answer_after)  # the partner's answer time: simulated
            delivered = copy.copy(message)
            delivered.delivered_without_mdn(now())  # its event is not what this test is about
            return await self._finish(delivered, [])
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def workers_for(sessions: Sessions, sender: Sender) -> Workers:
    return Workers(
        Claims(sessions, timedelta(minutes=5)),
        ConfigReplica(),
        sender,
        Settlement(units_of_work(sessions), resend_on_deadline=False, clock=now),
        workers=2,
        clock=now,
        lease_renewal_seconds=100,
    )


async def queue_one(sessions: Sessions) -> str:
    message_id = new_message_id("MYCO")
    async with sessions() as session, session.begin():
        await session.execute(
            sa.insert(messages).values(
                id=uuid.uuid4(), request_id=str(uuid.uuid4()), message_id=message_id,
                station="MYCO", partner="acme", filename=None, content_type="x", subject="s",
                document=None, content=b"EDI", status="queued", attempts=0,
                next_attempt_at=now() - timedelta(seconds=1), signed_mdn=False,
                created_at=now(), updated_at=now(),
            )
        )  # fmt: skip
    return message_id


async def row_of(sessions: Sessions) -> dict[str, Any]:
    async with sessions() as session:
        (row,) = (await session.execute(sa.select(messages))).mappings().all()
        return dict(row)


async def events(sessions: Sessions) -> list[dict[str, Any]]:
    async with sessions() as session:
        payloads = (await session.scalars(sa.select(outbox.c.payload).order_by(outbox.c.seq))).all()
    return [json.loads(p) for p in payloads]


async def test_a_stop_releases_an_attempt_in_progress_at_once(sessions: Sessions) -> None:
    await queue_one(sessions)
    sender = StallingSender(sessions)
    workers = workers_for(sessions, sender)
    loop = asyncio.create_task(workers.run())
    await asyncio.wait_for(sender.started.wait(), timeout=10)
    (started,) = await events(sessions)  # recorded with the claim
    assert (started["event_type"], started["data"]["attempt"]) == ("AttemptStarted", 1)

    began = time.monotonic()
    await workers.stop(grace_seconds=0.3)
    assert 0.3 <= time.monotonic() - began < 3
    assert loop.done()
    row = await row_of(sessions)
    assert (row["status"], row["lease_until"], row["attempts"]) == ("retrying", None, 1)
    assert row["stopped_attempts"] == 1
    assert row["next_attempt_at"].replace(tzinfo=UTC) <= now()  # due again now
    released = (await events(sessions))[-1]
    assert released["event_type"] == "MessageRetrying"
    assert (released["data"]["attempt"], released["data"]["reason"]) == (1, STOPPED)

    # The next attempt (2 of max 2) breaks: the stopped one did not count, so it is retried.
    crashing = StallingSender(sessions, crash=True)
    workers = workers_for(sessions, crashing)
    loop = asyncio.create_task(workers.run())
    await asyncio.wait_for(crashing.started.wait(), timeout=10)

    async def settled() -> bool:
        return bool((await row_of(sessions))["status"] != "sending")

    await until(settled, what="the broken attempt settled")
    await workers.stop(grace_seconds=1)
    await loop
    row = await row_of(sessions)
    assert (row["status"], row["attempts"], row["stopped_attempts"]) == ("retrying", 2, 1)


async def test_a_send_that_ends_within_the_grace_period_is_not_interrupted(
    sessions: Sessions,
) -> None:
    await queue_one(sessions)
    sender = StallingSender(sessions, answer_after=0.3)
    workers = workers_for(sessions, sender)
    loop = asyncio.create_task(workers.run())
    await asyncio.wait_for(sender.started.wait(), timeout=10)
    began = time.monotonic()
    await workers.stop(grace_seconds=5)
    assert time.monotonic() - began < 2  # no longer than the send took
    await loop
    row = await row_of(sessions)
    assert (row["status"], row["attempts"], row["stopped_attempts"]) == ("delivered", 1, 0)
    assert [e["event_type"] for e in await events(sessions)] == ["AttemptStarted"]


async def test_a_release_never_undoes_an_outcome_already_written(sessions: Sessions) -> None:
    await queue_one(sessions)
    one_at_a_time = Limits(max_concurrency=1, rate_per_second=None)
    claimed = await Claims(sessions, timedelta(minutes=5)).claim_many(
        "acme", one_at_a_time, now, at_most=1
    )
    async with sessions() as session, session.begin():
        await session.execute(sa.update(messages).values(status="delivered", lease_until=None))
    assert not await StallingSender(sessions).release(claimed[0])
    assert (await row_of(sessions))["status"] == "delivered"
    assert [e["event_type"] for e in await events(sessions)] == ["AttemptStarted"]
