"""The read use cases behind the API: pages, one message, dashboard figures, partner health,
certificates."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.shared.errors import NotFoundError
from as2bus.tracklog.adapters import partner_health, queries, stats
from as2bus.tracklog.certs import CertificateView
from as2bus.tracklog.domain import utc
from as2bus.tracklog.schemas import (
    CertificateOut,
    FailureReason,
    MessageDetail,
    MessagePage,
    MessageSummary,
    PartnerHealth,
    Rotation,
    Stats,
    StatusCount,
    TimeToMdn,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def certificate_out(view: CertificateView, now: datetime) -> CertificateOut:
    return CertificateOut(
        kind=view.kind, alias=view.alias, fingerprint_sha256=view.fingerprint_sha256,
        certificate_id=view.certificate_id, subject=view.subject, not_after=view.not_after,
        days_left=view.days_left(now), state=view.state(now), activation_at=view.activation_at,
        retirement_at=view.retirement_at, warned_days=view.warned_days,
    )  # fmt: skip


class Reads:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    async def messages(
        self,
        f: queries.MessageFilter,
        *,
        sort: queries.Sort,
        order: queries.Order,
        limit: int,
        cursor: str | None,
        count: bool = False,
    ) -> MessagePage:
        """A page of messages; with ``count``, how many match in all (capped: see COUNT_CAP)."""
        counted = None
        async with self._sessions() as session:
            page = await queries.list_messages(
                session, f, sort=sort, order=order, limit=limit, cursor=cursor
            )
            if count:
                counted = await queries.count_messages(session, f, sort=sort)
        items = [MessageSummary.model_validate(row) for row in page.rows]
        if counted is None:
            return MessagePage(items=items, next_cursor=page.next_cursor)
        capped = counted > queries.COUNT_CAP
        return MessagePage(items=items, next_cursor=page.next_cursor,
                           count=min(counted, queries.COUNT_CAP), count_capped=capped)  # fmt: skip

    async def message(self, ref: uuid.UUID) -> MessageDetail:
        async with self._sessions() as session:
            found = await queries.get_message(session, ref)
        if found is None:
            raise NotFoundError("message", ref)
        state, timeline = found
        return MessageDetail.model_validate(state.__dict__ | {"timeline": timeline})

    async def events_applied(self) -> int:
        async with self._sessions() as session:
            return await queries.count_events(session)

    async def certificates(self) -> list[CertificateOut]:
        now = self._clock()
        async with self._sessions() as session:
            views = await queries.list_certificates(session)
        return [certificate_out(v, now) for v in views]

    async def rotations(self, days: float) -> list[Rotation]:
        """Activations and retirements due in the next ``days``, soonest first."""
        now = self._clock()
        horizon = now + timedelta(days=days)
        found = []
        for cert in await self.certificates():
            if cert.activation_at is not None and now < utc(cert.activation_at) <= horizon:
                found.append(Rotation(at=cert.activation_at, change="activates", certificate=cert))
            if cert.retirement_at is not None and now < utc(cert.retirement_at) <= horizon:
                found.append(Rotation(at=cert.retirement_at, change="retires", certificate=cert))
        return sorted(found, key=lambda r: r.at)

    async def partner_health(self) -> list[PartnerHealth]:
        async with self._sessions() as session:
            rows = await partner_health.health_by_partner(session)
        return [PartnerHealth.model_validate(row) for row in rows]

    async def stats(
        self,
        since: datetime | None,
        until: datetime | None,
        bucket: stats.Bucket,
        partner: str | None,
    ) -> Stats:
        until = utc(until) if until else self._clock()
        since = utc(since) if since else until - timedelta(days=1)
        async with self._sessions() as session:
            counts = await stats.status_counts(session, since, until, bucket, partner)
            mdn = await stats.time_to_mdn(session, since, until, partner)
            reasons = await stats.failure_reasons(session, since, until, partner)
        live = [c for c in await self.certificates() if c.state != "retired"]
        return Stats(
            since=since,
            until=until,
            bucket=bucket,
            counts=[StatusCount.model_validate(c) for c in counts],
            time_to_mdn=[TimeToMdn.model_validate(m) for m in mdn],
            failure_reasons=[FailureReason.model_validate(r) for r in reasons],
            certificates=sorted(live, key=lambda c: (c.days_left is None, c.days_left or 0)),
        )
