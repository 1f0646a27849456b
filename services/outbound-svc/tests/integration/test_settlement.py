"""Async MDN settlement and deadlines on both databases."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.contracts import DocumentRef, MdnReport
from as2bus.outbound.adapters.repository import units_of_work
from as2bus.outbound.adapters.tables import messages, outbox
from as2bus.outbound.domain import new_message_id
from as2bus.outbound.settle import Settlement
from as2bus.shared.bus.documents import mdn_object_name

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


async def awaiting(sessions: Sessions, deadline: datetime, mic: str = "abc=") -> str:
    message_id = new_message_id("MYCO")
    async with sessions() as session, session.begin():
        await session.execute(
            sa.insert(messages).values(
                id=uuid.uuid4(),
                request_id=str(uuid.uuid4()),
                message_id=message_id,
                station="MYCO",
                partner="acme",
                filename=None,
                content_type="x",
                subject="s",
                document=None,
                content=b"kept in the row",
                status="awaiting-mdn",
                attempts=1,
                mdn_mode="async",
                mdn_deadline=deadline,
                mic=mic,
                signed_mdn=True,
                created_at=T0,
                updated_at=T0,
            )
        )
    return message_id


async def status_of(sessions: Sessions, message_id: str) -> str:
    async with sessions() as session:
        return str(
            await session.scalar(
                sa.select(messages.c.status).where(messages.c.message_id == message_id)
            )
        )


async def kept(sessions: Sessions, message_id: str) -> bytes | None:
    async with sessions() as session:
        content = await session.scalar(
            sa.select(messages.c.content).where(messages.c.message_id == message_id)
        )
    return bytes(content) if content is not None else None


async def failures(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        rows = (await session.scalars(sa.select(outbox.c.payload))).all()
    return [
        json.loads(r)["data"]["reason"]
        for r in rows
        if json.loads(r)["event_type"] == "MessageFailed"
    ]


def report(message_id: str, mic: str, *, raw: DocumentRef | None = None) -> MdnReport:
    return MdnReport(
        original_message_id=message_id,
        station="MYCO",
        partner="acme",
        disposition="processed",
        mic=mic,
        signed=True,
        signature_valid=True,
        mode="async",
        raw=raw,
    )


async def test_an_async_mdn_settles_its_message_once_and_checks_the_mic(sessions: Sessions) -> None:
    settle = Settlement(units_of_work(sessions), resend_on_deadline=False, clock=lambda: T0)
    good, bad = (
        await awaiting(sessions, T0 + timedelta(hours=1)),
        await awaiting(sessions, T0 + timedelta(hours=1)),
    )
    assert await settle.mdn_received(report(good, "abc=")) == "delivered"
    assert await settle.mdn_received(report(good, "abc=")) is None  # a redelivered event: no change
    assert await settle.mdn_received(report(bad, "not-ours=")) == "failed"
    assert await settle.mdn_received(report("<unknown@x>", "abc=")) is None
    assert [r for r in await failures(sessions) if "MIC mismatch" in r]
    # Settled either way, the document kept in the row stays (downloads, resends) until the
    # retention of sent documents is over.
    assert (await kept(sessions, good), await kept(sessions, bad)) == (b"kept in the row",) * 2


async def test_a_missed_deadline_fails_or_resends(sessions: Sessions) -> None:
    late = await awaiting(sessions, T0 - timedelta(seconds=1))
    fine = await awaiting(sessions, T0 + timedelta(hours=1))
    failing = Settlement(units_of_work(sessions), resend_on_deadline=False, clock=lambda: T0)
    assert await failing.expire_deadlines() == 1
    assert (await status_of(sessions, late), await status_of(sessions, fine)) == (
        "failed",
        "awaiting-mdn",
    )
    assert await failures(sessions) == ["no MDN by the deadline"]
    assert (await kept(sessions, late), await kept(sessions, fine)) == (b"kept in the row",) * 2

    again = await awaiting(sessions, T0 - timedelta(seconds=1))
    resending = Settlement(units_of_work(sessions), resend_on_deadline=True, clock=lambda: T0)
    assert await resending.expire_deadlines() == 1
    assert await status_of(sessions, again) == "queued"
    assert await kept(sessions, again) == b"kept in the row"  # to be sent again


class KeptObjects:
    """The object store's names, as far as Settlement uses it (it only deletes)."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)

    async def delete(self, name: str) -> bool:
        found = name in self.names
        self.names.discard(name)
        return found


def raw_mdn(message_id: str) -> DocumentRef:
    return DocumentRef(
        bucket="as2_documents", name=mdn_object_name(message_id), size=1, sha256="0" * 64
    )


async def test_an_mdn_record_that_nothing_of_ours_keeps_is_deleted(sessions: Sessions) -> None:
    """inbound-svc keeps every async MDN it accepts; the ones for no message of ours, or for a
    message that took no MDN, would otherwise stay in the object store for ever."""
    ours = await awaiting(sessions, T0 + timedelta(hours=1))
    objects = KeptObjects(mdn_object_name(ours), mdn_object_name("<foreign@x>"))
    settle = Settlement(
        units_of_work(sessions),
        resend_on_deadline=False,
        clock=lambda: T0,
        documents=objects,  # type: ignore[arg-type]
    )
    assert await settle.mdn_received(report(ours, "abc=", raw=raw_mdn(ours))) == "delivered"
    # A second copy of the same MDN: the message keeps it (same name), the retention deletes it.
    assert await settle.mdn_received(report(ours, "abc=", raw=raw_mdn(ours))) is None
    assert mdn_object_name(ours) in objects.names
    # For a Message-ID that is not ours: nothing would ever delete it.
    foreign = report("<foreign@x>", "abc=", raw=raw_mdn("<foreign@x>"))
    assert await settle.mdn_received(foreign) is None
    assert mdn_object_name("<foreign@x>") not in objects.names

    late = await awaiting(sessions, T0 - timedelta(seconds=1))
    assert await settle.expire_deadlines() == 1  # failed without an MDN: it keeps none
    objects.names.add(mdn_object_name(late))
    assert await settle.mdn_received(report(late, "abc=", raw=raw_mdn(late))) is None
    assert mdn_object_name(late) not in objects.names
