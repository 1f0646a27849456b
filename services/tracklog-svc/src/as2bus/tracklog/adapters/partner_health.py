"""Every partner's outbound health in one statement, for the console's Partner health page:
the latest delivered and the latest failed or refused message (by last activity) and how many
wait, in all and per status.

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

MESSAGE_COLUMNS = ("id", "message_id", "filename", "status", "updated_at")
FAILURE_COLUMNS = (*MESSAGE_COLUMNS, "error_code", "error")


async def health_by_partner(session: AsyncSession) -> list[dict[str, Any]]:
    """One dict per partner with outbound messages, by partner: partner, waiting,
    waiting_by_status (each status of WAITING with its count, zeros left out), last_delivered
    and last_failed (dicts of MESSAGE_COLUMNS / FAILURE_COLUMNS, or None)."""
    c = messages.c

    def latest(statuses: tuple[Status, ...]) -> sa.ColumnElement[Any]:
        return sa.func.max(sa.case((c.status.in_(statuses), c.updated_at)))

    per_partner = (
        sa.select(
            c.partner,
            *(sa.func.sum(sa.case((c.status == s, 1), else_=0)).label(s) for s in WAITING),
            latest(DELIVERED).label("delivered_at"),
            latest(FAILED).label("failed_at"),
        )
        .where(c.direction == "outbound", c.partner.is_not(None))
        .group_by(c.partner)
        .subquery("per_partner")
    )
    delivered, failed = messages.alias("delivered"), messages.alias("failed")

    def row_at(row: sa.FromClause, at: sa.ColumnElement[Any], statuses: tuple[Status, ...]) -> Any:
        return sa.and_(row.c.partner == per_partner.c.partner, row.c.updated_at == at,
                       row.c.direction == "outbound", row.c.status.in_(statuses))  # fmt: skip

    query = (
        sa.select(
            per_partner.c.partner,
            *(per_partner.c[s] for s in WAITING),
            *(delivered.c[name].label(f"delivered_{name}") for name in MESSAGE_COLUMNS),
            *(failed.c[name].label(f"failed_{name}") for name in FAILURE_COLUMNS),
        )
        .select_from(per_partner)
        .outerjoin(delivered, row_at(delivered, per_partner.c.delivered_at, DELIVERED))
        .outerjoin(failed, row_at(failed, per_partner.c.failed_at, FAILED))
        .order_by(per_partner.c.partner)
    )
    found: dict[str, dict[str, Any]] = {}
    for row in (await session.execute(query)).mappings():
        by_status = {s: int(row[s]) for s in WAITING if row[s]}
        health = found.setdefault(row["partner"], {
            "partner": row["partner"], "waiting": sum(by_status.values()),
            "waiting_by_status": by_status, "last_delivered": None, "last_failed": None,
        })  # fmt: skip
        # Two rows at the same latest time give one joined row each: keep the highest id,
        # the row the message list (updated_at, then id, newest first) shows first.
        for kind, columns in (("delivered", MESSAGE_COLUMNS), ("failed", FAILURE_COLUMNS)):
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
