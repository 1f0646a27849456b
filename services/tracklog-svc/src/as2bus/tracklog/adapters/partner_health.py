"""Every partner's outbound health in one statement, for the console's Partner health page:
the latest delivered, the latest failed or refused and the latest retrying message (by last
activity), how many wait, in all and per status, and since when the oldest retrying one waits.

One pass groups the outbound rows by partner (the two latest times and the waiting count);
each latest time is then joined back to its row, an index lookup (updated_at leads two). The
pass reads every outbound row, once per page view however many partners there are.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from as2bus.tracklog.adapters.tables import messages
from as2bus.tracklog.domain import Status, utc

#: A MessageDelivered ends both (see as2bus.contracts.verdict): the partner has it.
DELIVERED: tuple[Status, ...] = ("delivered", "delivered-with-warnings")
#: A refused send request (MessageRejected) never reached the partner either: the console
#: counts both as failures (its dashboard tile says "failed or refused").
FAILED: tuple[Status, ...] = ("failed", "rejected")
#: Accepted, not settled yet.
WAITING: tuple[Status, ...] = ("queued", "sending", "sent", "retrying")
#: An attempt did not reach the partner; another is due (the partner may be down).
RETRYING: tuple[Status, ...] = ("retrying",)

MESSAGE_COLUMNS = ("id", "message_id", "filename", "status", "updated_at")
FAILURE_COLUMNS = (*MESSAGE_COLUMNS, "error_code", "error")
#: Each latest message the answer gives (``last_<kind>``): its statuses and its columns. A
#: retrying one's error is its last attempt's reason.
_LATEST: dict[str, tuple[tuple[Status, ...], tuple[str, ...]]] = {
    "delivered": (DELIVERED, MESSAGE_COLUMNS),
    "failed": (FAILED, FAILURE_COLUMNS),
    "retrying": (RETRYING, FAILURE_COLUMNS),
}


async def health_by_partner(session: AsyncSession) -> list[dict[str, Any]]:
    """One dict per partner with outbound messages, by partner: partner, waiting,
    waiting_by_status (each status of WAITING with its count, zeros left out), last_delivered,
    last_failed and last_retrying (dicts of their _LATEST columns, or None), and
    retrying_since (when the oldest retrying message was accepted, or None)."""
    c = messages.c

    def latest(statuses: tuple[Status, ...]) -> sa.ColumnElement[Any]:
        return sa.func.max(sa.case((c.status.in_(statuses), c.updated_at)))

    per_partner = (
        sa.select(
            c.partner,
            *(sa.func.sum(sa.case((c.status == s, 1), else_=0)).label(s) for s in WAITING),
            *(latest(statuses).label(f"{kind}_at") for kind, (statuses, _) in _LATEST.items()),
            sa.func.min(sa.case((c.status.in_(RETRYING), c.created_at))).label("retrying_since"),
        )
        .where(c.direction == "outbound", c.partner.is_not(None))
        .group_by(c.partner)
        .subquery("per_partner")
    )
    rows = {kind: messages.alias(kind) for kind in _LATEST}

    def row_at(kind: str) -> Any:
        row, statuses = rows[kind], _LATEST[kind][0]
        return sa.and_(row.c.partner == per_partner.c.partner,
                       row.c.updated_at == per_partner.c[f"{kind}_at"],
                       row.c.direction == "outbound", row.c.status.in_(statuses))  # fmt: skip

    query = sa.select(
        per_partner.c.partner,
        per_partner.c.retrying_since,
        *(per_partner.c[s] for s in WAITING),
        *(rows[kind].c[name].label(f"{kind}_{name}")
          for kind, (_, columns) in _LATEST.items() for name in columns),
    ).select_from(per_partner)  # fmt: skip
    for kind in _LATEST:
        query = query.outerjoin(rows[kind], row_at(kind))
    found: dict[str, dict[str, Any]] = {}
    for row in (await session.execute(query.order_by(per_partner.c.partner))).mappings():
        by_status = {s: int(row[s]) for s in WAITING if row[s]}
        since = row["retrying_since"]
        health = found.setdefault(row["partner"], {
            "partner": row["partner"], "waiting": sum(by_status.values()),
            "waiting_by_status": by_status, "retrying_since": utc(since) if since else None,
            **{f"last_{kind}": None for kind in _LATEST},
        })  # fmt: skip
        # Two rows at the same latest time give one joined row each: keep the highest id,
        # the row the message list (updated_at, then id, newest first) shows first.
        for kind, (_, columns) in _LATEST.items():
            candidate = _message(row, kind, columns)
            kept = health[f"last_{kind}"]
            if candidate is not None and (kept is None or candidate["id"] > kept["id"]):
                health[f"last_{kind}"] = candidate
    return list(found.values())


def _message(row: Any, kind: str, columns: tuple[str, ...]) -> dict[str, Any] | None:
    if row[f"{kind}_id"] is None:
        return None
    message = {name: row[f"{kind}_{name}"] for name in columns}
    return message | {"updated_at": utc(message["updated_at"])}
