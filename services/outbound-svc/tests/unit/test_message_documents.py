"""A message's documents through its row and back (domain/documents.py): the first one, then
its attachments in order, each kept in the row's content or referenced in the object store."""

from __future__ import annotations

from typing import Any

import pytest

from as2bus.contracts import DocumentRef
from as2bus.outbound.domain.documents import (
    Document,
    attachments_column,
    documents_of,
    kept_content,
    stored_refs,
)
from as2bus.outbound.domain.message import Message

from .messages import queued


def ref(name: str, size: int) -> DocumentRef:
    return DocumentRef(bucket="as2_documents", name=name, size=size, sha256="0" * 64)


def row_for(documents: list[Document], **changes: Any) -> Message:
    """What the acceptor queues for these documents (see Acceptor._queue)."""
    first = documents[0]
    fields: dict[str, Any] = {
        "message_id": "<m@x>",
        "filename": first.filename,
        "content_type": first.content_type,
        "document": first.ref.model_dump(mode="json") if first.ref else None,
        "content": kept_content(documents),
        "attachments": attachments_column(documents[1:]),
    }
    return queued(**(fields | changes))


@pytest.mark.parametrize(
    "documents",
    [
        [Document("a.edi", "application/edi-x12", 3, kept=b"AAA")],
        [Document("a.edi", "application/edi-x12", 5, ref=ref("out/a", 5))],
        [  # every one in the row: their bytes one after the other
            Document("a.edi", "application/edi-x12", 3, kept=b"AAA"),
            Document("b.xml", "application/xml", 0, kept=b""),
            Document(None, "text/plain", 2, kept=b"CC"),
        ],
        [  # mixed, the first referenced: the row's content holds attachments only
            Document("a.edi", "application/edi-x12", 5, ref=ref("out/a", 5)),
            Document("b.xml", "application/xml", 4, kept=b"BBBB"),
            Document("c.pdf", "application/pdf", 9, ref=ref("out/c", 9)),
            Document(None, "text/plain", 2, kept=b"DD"),
        ],
        [  # the first in the row, the others referenced
            Document("a.edi", "application/edi-x12", 1, kept=b"A"),
            Document("b.xml", "application/xml", 7, ref=ref("out/b", 7)),
        ],
    ],
    ids=["one-kept", "one-stored", "all-kept", "first-stored", "first-kept"],
)
def test_the_documents_come_back_in_order_as_they_were_kept(documents: list[Document]) -> None:
    row = row_for(documents)
    assert documents_of(row) == documents
    assert stored_refs(row.attachments) == [d.ref for d in documents[1:] if d.ref]


def test_rows_from_before_attachments_read_as_one_document() -> None:
    old = queued(filename=None, content_type="x", document=None, content=b"EDI")
    assert documents_of(old) == [Document(None, "x", 3, kept=b"EDI")]
    assert stored_refs(old.attachments) == []


def test_a_row_whose_content_does_not_match_its_attachments_is_refused() -> None:
    documents = [
        Document("a", "x", 2, kept=b"AA"),
        Document("b", "x", 3, kept=b"BBB"),
    ]
    with pytest.raises(ValueError, match="neither stored nor kept"):
        documents_of(row_for(documents, content=b"BB"))
    stored_first = [Document("a", "x", 1, ref=ref("out/a", 1)), documents[1]]
    with pytest.raises(ValueError, match="missing"):
        documents_of(row_for(stored_first, content=b"BB"))
    with pytest.raises(ValueError, match="no document accounts for"):
        documents_of(row_for(stored_first, content=b"BBBB"))


def test_a_document_is_either_referenced_or_kept() -> None:
    with pytest.raises(ValueError, match="either referenced or kept"):
        Document("a", "x", 1)
    with pytest.raises(ValueError, match="either referenced or kept"):
        Document("a", "x", 1, ref=ref("out/a", 1), kept=b"A")
