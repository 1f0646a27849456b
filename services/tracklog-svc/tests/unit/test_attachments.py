"""A message of several documents (RFC 6362): the row keeps the documents after the
first, in order, whatever order its events come in; the API's detail lists them with sizes."""

from __future__ import annotations

import itertools
from datetime import timedelta

from as2bus.contracts import DocumentRef, Event, QueuedAttachment
from as2bus.testing.tracklog import T0, in_memory, inbound, outbound
from as2bus.tracklog.domain import MessageState
from as2bus.tracklog.merge import apply, new_state
from as2bus.tracklog.schemas import MessageDetail

MORE = [("invoice.xml", "application/xml", 10), (None, "application/pdf", 8)]


def only(events: list[Event]) -> MessageState:
    (row,) = in_memory(events).values()
    return row


def test_the_row_keeps_the_documents_after_the_first_in_any_order() -> None:
    events = inbound("<m@acme>", attachments=MORE, duplicates=1)
    rows = [only(list(order)) for order in itertools.permutations(events)]
    for row in rows:
        assert row.attachments == [
            {"document": {"bucket": "as2_documents", "name": "in/<m@acme>/attachment-1",
                          "size": 10, "sha256": "ab" * 32},
             "filename": "invoice.xml", "content_type": "application/xml"},
            {"document": {"bucket": "as2_documents", "name": "in/<m@acme>/attachment-2",
                          "size": 8, "sha256": "ab" * 32},
             "filename": None, "content_type": "application/pdf"},
        ]  # fmt: skip
        assert (row.filename, row.size, row.status) == ("order.edi", 2048, "mdn-sent")


def test_one_document_keeps_none_and_the_timeline_says_how_many() -> None:
    assert only(inbound("<one@acme>")).attachments is None
    received = inbound("<m@acme>", attachments=MORE)[0]
    state = new_state(only([received]).id, "inbound", received)
    entry = apply(state, received)
    assert entry.summary == (
        "received order.edi (2048 bytes, signed, encrypted) and 2 more documents (18 bytes)"
    )
    assert entry.data["attachments"][1]["content_type"] == "application/pdf"
    one = inbound("<m2@acme>", attachments=MORE[:1], at=T0 + timedelta(seconds=1))[0]
    assert apply(new_state(state.id, "inbound", one), one).summary.endswith(
        " and 1 more document (10 bytes)"
    )


def test_the_detail_lists_them_with_their_sizes() -> None:
    row = only(inbound("<m@acme>", attachments=MORE))
    detail = MessageDetail.model_validate(row.__dict__ | {"timeline": []})
    listed = []
    for a in detail.attachments:
        assert a.document is not None
        listed.append((a.filename, a.content_type, a.size, a.document["name"]))
    assert listed == [
        ("invoice.xml", "application/xml", 10, "in/<m@acme>/attachment-1"),
        (None, "application/pdf", 8, "in/<m@acme>/attachment-2"),
    ]  # fmt: skip
    alone = only(inbound("<one@acme>"))
    assert MessageDetail.model_validate(alone.__dict__ | {"timeline": []}).attachments == []


def test_a_sent_message_lists_its_documents_after_the_first_stored_or_kept() -> None:
    """outbound-svc keeps small documents in its database: no reference, still listed."""
    queued, *rest = outbound("<s@myco>")
    stored = QueuedAttachment(
        filename="spec.pdf", content_type="application/pdf", size=5,
        document=DocumentRef(bucket="as2_documents", name="out/x/1", size=5, sha256="cd" * 32),
    )  # fmt: skip
    kept = QueuedAttachment(filename=None, content_type="text/plain", size=3)
    data = queued.data.model_copy(update={"attachments": [stored, kept]})  # type: ignore[attr-defined]
    events = [queued.model_copy(update={"data": data}), *rest]
    row = only(events)
    detail = MessageDetail.model_validate(row.__dict__ | {"timeline": []})
    assert [(a.filename, a.size, a.document) for a in detail.attachments] == [
        ("spec.pdf", 5, stored.document.model_dump(mode="json")),  # type: ignore[union-attr]
        (None, 3, None),
    ]
    entry = apply(new_state(row.id, "outbound", events[0]), events[0])
    assert entry.summary.endswith(" and 2 more documents (8 bytes)")
