"""The documents of a message we sent, as a download or a resend finds them now.

A document is in the object store when the publisher referenced it (Send File always does),
or, sent inline (``as2bus send`` and most integrators; up to 256 KiB by default), only in
outbound-svc's database: tracklog-svc's detail then has no reference for it, and outbound-svc
serves its bytes over its API. Both stay for the retention of sent documents after the
message was settled (AS2BUS_OUTBOUND_DOCUMENT_RETENTION_HOURS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from as2bus.console.adapters.backends import Backend, File
from as2bus.contracts import DocumentRef
from as2bus.shared.bus.documents import DocumentStore

#: Why a document whose retention is over cannot be had, after "its document".
RETENTION_OVER = "is no longer kept: the retention of sent documents is over"


@dataclass(frozen=True)
class SentDocument:
    """One document of a message we sent (``number`` 1 is the first, 2… its attachments)."""

    number: int
    filename: str | None
    content_type: str
    ref: DocumentRef | None  # in the object store; None: kept by outbound-svc (sent inline)
    missing: str | None = None  # why it cannot be had now (after ``called``); None: it can

    @property
    def called(self) -> str:
        """How a sentence names it: "its document", "its document 2 (drawing.pdf)"."""
        if self.number == 1:
            return "its document"
        return f"its document {self.number} ({self.filename or 'no file name'})"


def outbound_path(message_id: str, number: int | None = None) -> str:
    """outbound-svc's route for a message's documents (Message-IDs hold "<", ">", "@" and
    may hold "/": percent-encoded)."""
    path = f"/api/v1/messages/{quote(message_id, safe='')}/documents"
    return path if number is None else f"{path}/{number}"


class SentDocuments:
    def __init__(self, documents: DocumentStore, outbound: Backend) -> None:
        self._documents = documents
        self._outbound = outbound

    async def of(self, sent: dict[str, Any]) -> list[SentDocument]:
        """Each document of ``sent`` (tracklog-svc's detail of an outbound message), the
        first first, and whether it can still be had. outbound-svc is asked (once) only when
        one was sent inline; BackendError when it cannot be reached."""
        entries = [sent, *(sent.get("attachments") or [])]
        kept_by_outbound: list[str] | None = None
        found = []
        for number, entry in enumerate(entries, start=1):
            filename = entry.get("filename")
            content_type = entry.get("content_type") or "application/octet-stream"
            if entry.get("document"):
                ref = DocumentRef.model_validate(entry["document"])
                gone = await self._documents.stored(ref.name) is None
                missing = RETENTION_OVER if gone else None
                found.append(SentDocument(number, filename, content_type, ref, missing))
                continue
            if kept_by_outbound is None:
                kept_by_outbound = await self._kept_by_outbound(sent.get("message_id"))
            here = (
                number <= len(kept_by_outbound) and kept_by_outbound[number - 1] == "outbound-svc"
            )
            missing = None if here else RETENTION_OVER
            found.append(SentDocument(number, filename, content_type, None, missing))
        return found

    async def read(self, message_id: str, number: int) -> File | None:
        """The bytes of document ``number`` outbound-svc keeps; None when it keeps none."""
        return await self._outbound.file(outbound_path(message_id, number))

    async def _kept_by_outbound(self, message_id: str | None) -> list[str]:
        """Where outbound-svc says each document is kept (``outbound-svc``, ``object-store``
        or ``no-longer``), in order; none when it has no such message."""
        if not message_id:
            return []
        listed = await self._outbound.get(outbound_path(message_id)) or []
        return [str(d.get("kept_in")) for d in listed]
