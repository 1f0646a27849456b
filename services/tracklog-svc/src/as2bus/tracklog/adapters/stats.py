"""Dashboard figures: messages by status per partner per hour or day, time to MDN
percentiles, failure reasons. All over a time window of the messages' creation."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from as2bus.tracklog.adapters.tables import messages
from as2bus.tracklog.domain import utc

Bucket = Literal["hour", "day"]
PERCENTILES = (0.5, 0.9, 0.95, 0.99)
FAILED_STATUSES = ("failed", "rejected", "mdn-failed")
_SQLITE_FORMAT = {"hour": "%Y-%m-%d %H:00:00", "day": "%Y-%m-%d 00:00:00"}


def _window(since: datetime, until: datetime, partner: str | None) -> list[Any]:
    found = [messages.c.created_at >= utc(since), messages.c.created_at < utc(until)]
    if not partner:
        return found
    # Exactly this AS2 ID; the lower-cased key leads the partner's index, so it narrows first.
    return [*found, messages.c.partner_key == partner.lower(), messages.c.partner == partner]


def _bucket(bucket: Bucket, dialect: str) -> sa.ColumnElement[Any]:
    # Constants inline, not bound: PostgreSQL matches the GROUP BY expression to the selected
    # one only if they are the same text, and two bind parameters are not.
    if bucket not in _SQLITE_FORMAT:
        raise ValueError(f"bucket must be hour or day, not {bucket!r}")
    if dialect == "sqlite":
        fmt: sa.ColumnElement[str] = sa.literal_column(f"'{_SQLITE_FORMAT[bucket]}'")
        return sa.func.strftime(fmt, messages.c.created_at)
    # The session's time zone must not move the buckets: truncate the UTC wall-clock time.
    utc_time = sa.func.timezone(sa.literal_column("'UTC'"), messages.c.created_at)
    return sa.func.date_trunc(sa.literal_column(f"'{bucket}'"), utc_time)


def _as_time(value: str | datetime) -> datetime:
    """A bucket's start: SQLite's strftime gives text, PostgreSQL a naive UTC timestamp."""
    return utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


async def status_counts(
    session: AsyncSession, since: datetime, until: datetime, bucket: Bucket, partner: str | None
) -> list[dict[str, Any]]:
    c = messages.c
    slot = _bucket(bucket, session.get_bind().dialect.name).label("bucket")
    query = (
        sa.select(slot, c.partner, c.direction, c.status, sa.func.count().label("count"))
        .where(*_window(since, until, partner))
        .group_by(slot, c.partner, c.direction, c.status)
        .order_by(slot, c.partner, c.direction, c.status)
    )
    rows = (await session.execute(query)).mappings()
    return [dict(r) | {"bucket": _as_time(r["bucket"])} for r in rows]


def nearest_rank(ordered: list[int], p: float) -> int:
    """The value below which a share ``p`` of the values lie (PostgreSQL's percentile_disc)."""
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


async def time_to_mdn(
    session: AsyncSession, since: datetime, until: datetime, partner: str | None
) -> list[dict[str, Any]]:
    """Per partner and over all ("partner": null): count and percentiles, in milliseconds."""
    c = messages.c
    where = [*_window(since, until, partner), c.time_to_mdn_ms.is_not(None)]
    if session.get_bind().dialect.name == "postgresql":
        figures = [
            sa.func.percentile_disc(p).within_group(c.time_to_mdn_ms).label(f"p{round(p * 100)}")
            for p in PERCENTILES
        ]
        base = sa.select(sa.func.count().label("count"), *figures).where(*where)
        per_partner = base.add_columns(c.partner).group_by(c.partner).order_by(c.partner)
        rows = [dict(r) for r in (await session.execute(per_partner)).mappings()]
        total = (await session.execute(base)).mappings().one()
        overall = [dict(total) | {"partner": None}] if total["count"] else []
        return overall + rows
    values: dict[str | None, list[int]] = defaultdict(list)
    query = sa.select(c.partner, c.time_to_mdn_ms).where(*where).order_by(c.time_to_mdn_ms)
    for name, ms in (await session.execute(query)).all():
        values[None].append(ms)
        values[name].append(ms)
    return [
        {"partner": name, "count": len(ordered)}
        | {f"p{round(p * 100)}": nearest_rank(ordered, p) for p in PERCENTILES}
        for name, ordered in sorted(values.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))
    ]


async def failure_reasons(
    session: AsyncSession, since: datetime, until: datetime, partner: str | None, limit: int = 50
) -> list[dict[str, Any]]:
    c = messages.c
    query = (
        sa.select(
            c.error_code,
            c.partner,
            sa.func.count().label("count"),
            sa.func.max(c.error).label("example"),
        )
        .where(*_window(since, until, partner), c.status.in_(FAILED_STATUSES))
        .group_by(c.error_code, c.partner)
        .order_by(sa.func.count().desc(), c.error_code, c.partner)
        .limit(limit)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]
