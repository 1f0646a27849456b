"""Async MDNs and their deadlines: a message ``awaiting-mdn`` is settled by the MdnReceived
that inbound-svc publishes when the partner's MDN arrives, or by its deadline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.outbound import outcomes
from as2bus.outbound.adapters.claims import aware
from as2bus.outbound.adapters.tables import messages, outbox
from as2bus.outbound.domain import settled
from as2bus.outbound.metrics import FAILED, SENT, TIME_TO_MDN
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.contracts import (
    DocumentRef,
    Event,
    MdnFacts,
    MdnReport,
    MdnSignature,
    MessageFailed,
    judge_mdn,
)
from as2bus.shared.outbox import add_to_outbox


class Settlement:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        resend_on_deadline: bool,
        clock: Callable[[], datetime],
        after_commit: Callable[[], None],
        documents: DocumentStore | None = None,
    ) -> None:
        self._sessions = sessions
        self._resend = resend_on_deadline
        self._clock = clock
        self._after_commit = after_commit
        self._documents = documents  # to drop MDN records no message of ours will keep

    async def mdn_received(self, report: MdnReport) -> str | None:
        """Settle the message an async MDN is for; returns its new status (None if not ours)."""
        if report.mode != "async":
            return None  # sync MDNs are settled by the sender itself
        async with self._sessions() as session, session.begin():
            row = (
                (
                    await session.execute(
                        sa.select(messages).where(
                            messages.c.message_id == report.original_message_id
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None or row["status"] != "awaiting-mdn":
                # Not ours, or already settled (a redelivered event, a late or second MDN).
                if report.raw is not None and _unowned(row):
                    await self._forget(report.raw)
                return None
            facts = MdnFacts(
                report.disposition,
                report.modifier,
                report.signed,
                report.signature_valid,
                report.mic,
            )
            # Rows from before mdn_signature only know whether a signature was asked for,
            # which then meant required.
            asked: MdnSignature = row["mdn_signature"] or (
                "required" if row["signed_mdn"] else "none"
            )
            verdict = judge_mdn(facts, signature=asked, expected_mic=row["mic"])
            events: list[Event] = []
            if verdict.status == "failed":
                code = verdict.code or "mdn-failed"
                events.append(self._failed(row, code, verdict.reason or "failed"))
            else:
                SENT.labels(row["partner"], verdict.status).inc()
                events.append(outcomes.delivered(row, verdict, report))
            created = aware(row["created_at"]) or self._clock()
            TIME_TO_MDN.labels(row["partner"]).observe((self._clock() - created).total_seconds())
            await session.execute(
                sa.update(messages)
                .where(messages.c.id == row["id"], messages.c.status == "awaiting-mdn")
                .values(
                    status=settled(verdict),
                    last_error=verdict.reason,
                    updated_at=self._clock(),
                    content=None,  # settled: a document kept in the row is not needed again
                    # inbound-svc kept the MDN as received; its retention is ours from now on
                    mdn_document=report.raw.model_dump(mode="json") if report.raw else None,
                )
            )
            await add_to_outbox(session, outbox, *events)
        self._after_commit()
        return verdict.status

    async def expire_deadlines(self) -> int:
        """Messages whose async MDN did not come in time: resend (same Message-ID) or fail."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            rows = (
                (
                    await session.execute(
                        sa.select(messages).where(
                            messages.c.status == "awaiting-mdn", messages.c.mdn_deadline < now
                        )
                    )
                )
                .mappings()
                .all()
            )
            for row in rows:
                if self._resend:
                    values: dict[str, Any] = {
                        "status": "queued",
                        "next_attempt_at": now,
                        "mdn_deadline": None,
                    }
                else:
                    values = {
                        "status": "failed",
                        "last_error": "no MDN by the deadline",
                        "content": None,
                    }
                    await add_to_outbox(
                        session, outbox, self._failed(row, "mdn-deadline", "no MDN by the deadline")
                    )
                await session.execute(
                    sa.update(messages)
                    .where(messages.c.id == row["id"], messages.c.status == "awaiting-mdn")
                    .values(updated_at=now, **values)
                )
        if rows:
            self._after_commit()
        return len(rows)

    async def _forget(self, raw: DocumentRef) -> None:
        """inbound-svc keeps every async MDN it accepts; one that settles nothing of ours would
        stay in the object store for ever."""
        if self._documents is not None:
            await self._documents.delete(raw.name)

    def _failed(self, row: Any, code: str, reason: str) -> MessageFailed:
        FAILED.labels(row["partner"], code).inc()
        return outcomes.failed(row, code, reason)


def _unowned(row: Any) -> bool:
    """Whether an MDN kept for this row (None: no message of ours) is referenced by nothing
    that the retention will delete: no message, one that kept no MDN, or one whose documents
    are gone already. (A message that kept an MDN references the same object name.)"""
    return row is None or row["mdn_document"] is None or row["document_deleted_at"] is not None
