"""Async MDNs and their deadlines: a message ``awaiting-mdn`` is settled by the MdnReceived
that inbound-svc publishes when the partner's MDN arrives, or by its deadline.

A partner may answer with its async MDN before the sender has committed ``awaiting-mdn``
(the POST's 2xx and the MDN's own POST race; ``make chaos`` saw it about once in 120
messages on loopback). The message is then still ``sending``: the MDN is not settled and not
dropped either, but handled again a moment later (``MdnBeforeItsMessage``, redelivered)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from as2bus.contracts import DocumentRef, MdnReport
from as2bus.outbound.domain import Message
from as2bus.outbound.metrics import FAILED, MDN_DEADLINES, SENT, TIME_TO_MDN
from as2bus.outbound.ports import Documents, UnitsOfWork


class MdnBeforeItsMessage(Exception):
    """An async MDN for a message of ours that is still being sent: handle it again later
    (the bus handler has it delivered again after a delay; nothing is wrong)."""


class Settlement:
    def __init__(
        self,
        units_of_work: UnitsOfWork,
        *,
        resend_on_deadline: bool,
        clock: Callable[[], datetime],
        documents: Documents | None = None,
    ) -> None:
        self._units_of_work = units_of_work
        self._resend = resend_on_deadline
        self._clock = clock
        self._documents = documents  # to drop MDN records no message of ours will keep

    async def mdn_received(self, report: MdnReport) -> str | None:
        """Settle the message an async MDN is for; returns its new status (None if not ours)."""
        if report.mode != "async":
            return None  # sync MDNs are settled by the sender itself
        async with self._units_of_work() as uow:
            message = await uow.messages.get(report.original_message_id)
            if message is not None and message.status == "sending":
                raise MdnBeforeItsMessage(
                    f"the MDN for {message.message_id} came before its send was recorded"
                )
            if message is None or message.status != "awaiting-mdn":
                # Not ours, or already settled (a redelivered event, a late or second MDN).
                if report.raw is not None and _unowned(message):
                    await self._forget(report.raw)
                return None
            verdict = message.judge(report)
            now = self._clock()
            TIME_TO_MDN.labels(message.partner).observe((now - message.created_at).total_seconds())
            if verdict.status == "failed":
                FAILED.labels(message.partner, verdict.code or "mdn-failed").inc()
            else:
                SENT.labels(message.partner, verdict.status).inc()
            # inbound-svc kept the MDN as received; its retention is ours from now on
            message.keep_mdn(report.raw)
            outcome = message.settle(verdict, report, now)
            if not await uow.messages.save(message):
                return None  # settled meanwhile by another replica's copy of this event
            uow.publish(outcome)
            await uow.commit()
        return verdict.status

    async def expire_deadlines(self) -> int:
        """Messages whose async MDN did not come in time: resend (same Message-ID) or fail."""
        now = self._clock()
        async with self._units_of_work() as uow:
            overdue = await uow.messages.mdn_overdue(now)
            for message in overdue:
                failed = message.mdn_overdue(now, resend=self._resend)
                if not await uow.messages.save(message):
                    continue  # its MDN came meanwhile
                outcome = "resent" if failed is None else "failed"
                MDN_DEADLINES.labels(message.partner, outcome).inc()
                if failed is not None:
                    FAILED.labels(message.partner, failed.data.code).inc()
                    uow.publish(failed)
            if overdue:
                await uow.commit()
        return len(overdue)

    async def _forget(self, raw: DocumentRef) -> None:
        """inbound-svc keeps every async MDN it accepts; one that settles nothing of ours would
        stay in the object store for ever."""
        if self._documents is not None:
            await self._documents.delete(raw.name)


def _unowned(message: Message | None) -> bool:
    """Whether an MDN kept for this message (None: no message of ours) is referenced by
    nothing that the retention will delete: no message, one that kept no MDN, or one whose
    documents are gone already. (A message that kept an MDN references the same name.)"""
    return (
        message is None or message.mdn_document is None or message.document_deleted_at is not None
    )
