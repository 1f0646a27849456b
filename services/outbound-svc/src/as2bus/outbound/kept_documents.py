"""A sent message's documents as outbound-svc still keeps them, for the console's downloads
and resends: inline documents stay in the message's row after it is settled, until the
document retention is over (adapters/retention.py), and only outbound-svc can read them."""

from __future__ import annotations

from as2bus.outbound.domain.documents import KeptDocument, kept_documents
from as2bus.outbound.ports import UnitsOfWork


class KeptDocuments:
    def __init__(self, units_of_work: UnitsOfWork) -> None:
        self._units_of_work = units_of_work

    async def of(self, message_id: str) -> list[KeptDocument] | None:
        """Each document of the message with this Message-ID, the first first; None when
        there is no such message (never sent here, or refused before it was queued)."""
        async with self._units_of_work() as uow:
            message = await uow.messages.get(message_id)
        return None if message is None else kept_documents(message)
