"""The documents of one outbound message, as it keeps them (RFC 6362: several documents
in one AS2 message, the first one first).

The first document is the row's ``document`` (a reference into the object store) or, when the
request's inline documents were small together (AS2BUS_OUTBOUND_KEEP_IN_DATABASE_BYTES), the
start of the row's ``content``. The ones after it are the row's ``attachments`` (JSON, NULL
for a single document): each with its filename, content type, size and either a reference
(``document``) or null when its bytes follow in ``content``. So ``content`` is every inline
document's bytes one after the other, in the message's order, and clearing it when the
message is settled (as for a single document) forgets them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from as2bus.contracts import DocumentRef

if TYPE_CHECKING:
    from as2bus.outbound.domain.message import Message


@dataclass(frozen=True)
class Document:
    """One document of a message: in the object store (``ref``) or in the row (``kept``)."""

    filename: str | None
    content_type: str
    size: int
    ref: DocumentRef | None = None
    kept: bytes | None = None

    def __post_init__(self) -> None:
        if (self.ref is None) == (self.kept is None):
            raise ValueError("a document is either referenced or kept in the row")


def attachments_column(attachments: Sequence[Document]) -> list[dict[str, Any]] | None:
    """The row's ``attachments`` for the documents after the first (their kept bytes go into
    ``content``, see ``kept_content``); None for a single document."""
    if not attachments:
        return None
    return [
        {
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "document": a.ref.model_dump(mode="json") if a.ref is not None else None,
        }
        for a in attachments
    ]


def kept_content(documents: Sequence[Document]) -> bytes | None:
    """The row's ``content``: the kept documents' bytes in order; None when none is kept."""
    kept = [d.kept for d in documents if d.kept is not None]
    return b"".join(kept) if kept else None


def documents_of(message: Message) -> list[Document]:
    """A message's documents, the first first. ValueError when its content does not hold
    what its attachments say (a message no release of ours writes)."""
    content = bytes(message.content) if message.content is not None else None
    extra: list[dict[str, Any]] = list(message.attachments or [])
    in_row = sum(int(entry["size"]) for entry in extra if entry["document"] is None)
    if message.document is not None:
        ref = DocumentRef.model_validate(message.document)
        first = Document(message.filename, message.content_type, ref.size, ref=ref)
        offset = 0
    else:
        if content is None or len(content) < in_row:
            raise ValueError(f"{message.message_id}: the document is neither stored nor kept")
        offset = len(content) - in_row
        first = Document(message.filename, message.content_type, offset, kept=content[:offset])
    documents = [first]
    for entry in extra:
        size = int(entry["size"])
        if entry["document"] is not None:
            ref = DocumentRef.model_validate(entry["document"])
            documents.append(Document(entry["filename"], entry["content_type"], size, ref=ref))
            continue
        if content is None or len(content) < offset + size:
            raise ValueError(f"{message.message_id}: an attachment kept in the row is missing")
        kept = content[offset : offset + size]
        offset += size
        documents.append(Document(entry["filename"], entry["content_type"], size, kept=kept))
    if content is not None and offset != len(content):
        raise ValueError(f"{message.message_id}: the row keeps bytes no document accounts for")
    return documents


def stored_refs(attachments: Sequence[Mapping[str, Any]] | None) -> list[DocumentRef]:
    """The object-store references in a row's ``attachments`` (for the retention)."""
    return [
        DocumentRef.model_validate(entry["document"])
        for entry in attachments or []
        if entry.get("document") is not None
    ]
