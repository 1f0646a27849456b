"""The documents of one outbound message, as it keeps them (RFC 6362: several documents
in one AS2 message, the first one first).

The first document is the row's ``document`` (a reference into the object store) or, when the
request's inline documents were small together (AS2BUS_OUTBOUND_KEEP_IN_DATABASE_BYTES), the
start of the row's ``content``. The ones after it are the row's ``attachments`` (JSON, NULL
for a single document): each with its filename, content type, size and either a reference
(``document``) or null when its bytes follow in ``content``. So ``content`` is every inline
document's bytes one after the other, in the message's order. It stays after the message is
settled (the console downloads and resends them), and clearing it when the document retention
is over (as for a single document) forgets them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

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


#: Where a document of a message is kept now: in the message's row (outbound-svc serves it),
#: in the object store (by its reference), or nowhere any more (the retention is over).
KeptIn = Literal["outbound-svc", "object-store", "no-longer"]


@dataclass(frozen=True)
class KeptDocument:
    """One document of a message as the API lists it (``number`` 1 is the first document)."""

    number: int
    filename: str | None
    content_type: str
    size: int | None  # unknown for a first document kept in the row once its bytes are gone
    kept_in: KeptIn
    kept: bytes | None = None  # its bytes, when kept in the row


def kept_documents(message: Message) -> list[KeptDocument]:
    """What a message still keeps of each of its documents, the first first. Bytes kept in
    the row are gone once the retention cleared ``content`` (in rows from before they were
    kept after settling, once the message was settled); objects once the retention deleted
    them."""
    deleted = message.document_deleted_at is not None
    try:
        documents = documents_of(message)
    except ValueError:  # the row's bytes are gone: what its columns still say
        return _without_content(message, deleted)
    listed = []
    for number, d in enumerate(documents, start=1):
        kept_in: KeptIn = "outbound-svc" if d.kept is not None else "object-store"
        if d.ref is not None and deleted:
            kept_in = "no-longer"
        listed.append(KeptDocument(number, d.filename, d.content_type, d.size, kept_in, d.kept))
    return listed


def _without_content(message: Message, deleted: bool) -> list[KeptDocument]:
    stored: KeptIn = "no-longer" if deleted else "object-store"
    first = DocumentRef.model_validate(message.document) if message.document else None
    listed = [
        KeptDocument(
            1, message.filename, message.content_type, first.size if first else None,
            stored if first else "no-longer",
        )
    ]  # fmt: skip
    for number, entry in enumerate(message.attachments or [], start=2):
        where: KeptIn = stored if entry["document"] is not None else "no-longer"
        size = int(entry["size"])
        listed.append(KeptDocument(number, entry["filename"], entry["content_type"], size, where))
    return listed
