"""Send File with several files, and the resend of a message of several documents: the real
Sender (adapters/sending.py) between the pages and a fake bus and object store (conftest.py),
so what is checked is the send request that would go on the bus."""

from __future__ import annotations

import html
import io
import json
import re
import time
import uuid
from typing import Any

import pytest
from nats.js.api import PubAck

from as2bus.console.adapters.sending import Sender, Upload
from as2bus.console.wiring import wiring
from as2bus.contracts import MAX_ATTACHMENTS, SEND_SUBJECT, SendRequest

from .conftest import (
    FakeBackends,
    FakeDocuments,
    FakeOutbound,
    audit_rows,
    client,
    csrf_of,
    fakes_of,
    sign_in,
)


class FakeBus:
    """The NATS client as publish_send_request uses it: the send requests published, and
    JetStream's answer (``duplicate``: each is dropped as a repeat of its request id)."""

    def __init__(self) -> None:
        self.published: list[tuple[SendRequest, dict[str, str]]] = []
        self.duplicate = False

    def jetstream(self) -> FakeBus:
        return self

    async def publish(
        self, subject: str, payload: bytes, stream: str | None = None, headers: Any = None
    ) -> PubAck:
        assert subject == SEND_SUBJECT
        self.published.append((SendRequest.model_validate(json.loads(payload)), headers))
        return PubAck(stream=str(stream), seq=len(self.published), duplicate=self.duplicate)


@pytest.fixture
def bus(app: Any) -> FakeBus:
    """The app with the real Sender on a fake bus and the app's fake object store."""
    found = FakeBus()
    fakes = fakes_of(app)
    sender = Sender(found, fakes.documents, fakes.backends.outbound)  # type: ignore[arg-type]
    wiring.replace(app, sender=sender)
    return found


async def post_send(app: Any, files: list[tuple[str, Any]], **form: str) -> Any:
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = await http.get("/send")
        data = {"csrf": csrf_of(page.text), "partnership": "p1", **form}
        return await http.post("/send", data=data, files=files)


async def test_the_form_takes_several_files(app: Any) -> None:
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = (await http.get("/send")).text
    assert '<input type="file" name="file" multiple required' in page
    assert f"up to {MAX_ATTACHMENTS}) sent together as one AS2 message" in page
    assert "the first is its main document" in page


async def test_two_files_go_as_one_message_the_first_its_document(app: Any, bus: FakeBus) -> None:
    files = [
        ("file", ("po.x12", b"ISA*00~ST*850~", "text/plain")),
        ("file", ("drawing.pdf", b"%PDF-1.7 drawing", "application/pdf")),
    ]
    sent = await post_send(app, files, subject="PO 1", content_type="application/edi-x12")
    assert sent.status_code == 303
    ((request, headers),) = bus.published  # one message, not one per file
    assert sent.headers["location"] == f"/sent/{request.request_id}"
    assert headers["Nats-Msg-Id"] == request.request_id
    assert (request.station, request.partner, request.subject) == ("MYCO", "ACME", "PO 1")
    # The content type given is the first file's; the second keeps the browser's.
    assert (request.filename, request.content_type) == ("po.x12", "application/edi-x12")
    (attachment,) = request.attachments
    assert (attachment.filename, attachment.content_type) == ("drawing.pdf", "application/pdf")
    store: FakeDocuments = fakes_of(app).documents
    assert request.document is not None
    assert attachment.document is not None
    assert store.objects[request.document.name] == b"ISA*00~ST*850~"
    assert store.objects[attachment.document.name] == b"%PDF-1.7 drawing"
    assert (request.document.size, attachment.document.size) == (14, 16)
    assert request.inline_base64 is None
    assert attachment.inline_base64 is None
    (row,) = await audit_rows(app, entity="message")
    assert row == (
        "admin@example.com message MYCO → ACME sent Files: po.x12, drawing.pdf Subject: PO 1 "
        f"Request: {request.request_id}"
    )


async def test_without_a_content_type_the_first_keeps_the_browsers_too(
    app: Any, bus: FakeBus
) -> None:
    files = [
        ("file", ("a.x12", b"first", "application/edi-x12")),
        ("file", ("b.xml", b"<second/>", "application/xml")),
        ("file", ("c.csv", b"third", "text/csv")),
    ]
    assert (await post_send(app, files)).status_code == 303
    ((request, _),) = bus.published
    documents = [request, *request.attachments]
    assert [(d.filename, d.content_type) for d in documents] == [
        ("a.x12", "application/edi-x12"), ("b.xml", "application/xml"), ("c.csv", "text/csv")
    ]  # fmt: skip
    assert request.subject is None  # left empty: the partner's default subject


async def test_a_file_the_browser_cannot_name_goes_as_what_its_content_says(
    app: Any, bus: FakeBus
) -> None:
    """Browsers call an .edi file application/octet-stream (or nothing): without a content
    type typed, the console guesses from the bytes as ``as2bus send`` does, not "bytes"."""
    files = [
        ("file", ("order.edi", b"UNA:+.? 'UNB+UNOC:3+MYCO+ACME'", "application/octet-stream")),
        ("file", ("po.edi", b"\xef\xbb\xbf\r\nISA*00*~", "application/octet-stream")),
        ("file", ("notes.zzz", b"just bytes", "application/octet-stream")),
        ("file", ("b.edi", b"UNB+UNOC:3+MYCO+ACME'", "text/plain")),  # the browser's wins
    ]
    assert (await post_send(app, files)).status_code == 303
    ((request, _),) = bus.published
    assert [(d.filename, d.content_type) for d in [request, *request.attachments]] == [
        ("order.edi", "application/edifact"), ("po.edi", "application/edi-x12"),
        ("notes.zzz", "application/octet-stream"), ("b.edi", "text/plain"),
    ]  # fmt: skip
    store: FakeDocuments = fakes_of(app).documents
    assert request.document is not None  # the guess read the head, the store got it all
    assert store.objects[request.document.name] == b"UNA:+.? 'UNB+UNOC:3+MYCO+ACME'"


async def test_a_content_type_typed_wins_over_the_guess(app: Any, bus: FakeBus) -> None:
    files = [("file", ("order.edi", b"UNB+UNOC:3+MYCO+ACME'", "application/octet-stream"))]
    sent = await post_send(app, files, content_type="application/octet-stream")
    assert sent.status_code == 303
    ((request, _),) = bus.published
    assert request.content_type == "application/octet-stream"


async def test_an_upload_without_a_browser_type_is_guessed_and_left_at_its_start() -> None:
    file = io.BytesIO(b"UNB+UNOC:3+MYCO+ACME'")
    file.seek(5)
    upload = Upload.from_browser(file, 21, "order", None)
    assert upload.content_type == "application/edifact"
    assert file.tell() == 0


TOO_MANY = [(f"{n}.x12", b"x") for n in range(MAX_ATTACHMENTS + 1)]
REFUSED = {
    "none": ([], None, "choose at least one file"),
    "one-empty": ([("po.x12", b"ISA~"), ("blank.txt", b""), ("c.x12", b"x")], None,
                  "blank.txt is empty"),
    "too-large-together": ([("a.x12", b"123456"), ("b.x12", b"123456")], 10,
                           "the 2 files have 12 bytes together; the console accepts up to 10"),
    "too-many": (TOO_MANY, None, f"{MAX_ATTACHMENTS + 1} files chosen: one message holds at "
                                 f"most {MAX_ATTACHMENTS}"),
}  # fmt: skip


@pytest.mark.parametrize(("files", "limit", "error"), REFUSED.values(), ids=REFUSED.keys())
async def test_files_it_cannot_send_are_refused_in_a_sentence_and_nothing_is_stored(
    app: Any, bus: FakeBus, files: list[tuple[str, bytes]], limit: int | None, error: str
) -> None:
    if limit is not None:
        wiring.replace(app, max_upload_bytes=limit)
    parts = [("file", (name, data, "application/edi-x12")) for name, data in files]
    # None chosen: a browser sends the empty input as a part without a name or bytes.
    answer = await post_send(app, parts or [("file", ("", b"", "application/octet-stream"))])
    assert answer.status_code == 200
    assert f'<p class="error" role="alert">Nothing was sent: {error}. Choose the files again' in (
        answer.text
    )
    assert '<form class="card" method="post" action="/send"' in answer.text  # the form again
    assert bus.published == []
    assert fakes_of(app).documents.objects == {}


async def test_a_content_type_that_is_not_a_mime_type_is_refused_and_the_form_kept(
    app: Any, bus: FakeBus
) -> None:
    """The send request's own rule, said on the form before anything is stored or sent (such
    a type went to the partner before)."""
    files = [("file", ("po.x12", b"ISA*00~", "application/edi-x12"))]
    answer = await post_send(app, files, subject="PO 8", content_type=" not a type!! ")
    assert answer.status_code == 200
    assert (
        '<p class="error" role="alert">Nothing was sent: content type \'not a type!!\' is not a '
        "MIME type (type/subtype, e.g. application/edi-x12). Choose the files again"
    ) in html.unescape(answer.text)
    assert 'name="subject" value="PO 8"' in answer.text
    assert 'value="not a type!!"' in answer.text  # kept to correct, without the spaces around
    assert bus.published == []
    assert fakes_of(app).documents.objects == {}


async def test_exactly_the_most_files_a_message_holds_are_sent(app: Any, bus: FakeBus) -> None:
    files = [("file", (f"{n}.x12", b"x", "application/edi-x12")) for n in range(MAX_ATTACHMENTS)]
    assert (await post_send(app, files)).status_code == 303
    ((request, _),) = bus.published
    assert [d.filename for d in [request, *request.attachments]] == [
        f"{n}.x12" for n in range(MAX_ATTACHMENTS)
    ]


async def test_a_file_the_store_refuses_sends_nothing_and_leaves_nothing_stored() -> None:
    bus, store = FakeBus(), FakeDocuments()
    store.fail_at_put = 3
    uploads = [Upload(io.BytesIO(d), len(d), f"{i}.x12", "application/edi-x12")
               for i, d in enumerate((b"one", b"two", b"three"))]  # fmt: skip
    with pytest.raises(OSError, match="the store refused"):
        await Sender(bus, store, FakeOutbound()).send_files(  # type: ignore[arg-type]
            uploads, station="MYCO", partner="ACME", subject="s"
        )
    assert store.puts == 3
    assert bus.published == []
    assert store.objects == {}  # the two stored before it deleted again


def sent_with_attachments(store: FakeDocuments, **second: Any) -> dict[str, Any]:
    """A failed outbound message of three documents, all kept; ``second`` changes the second's
    entry (QueuedAttachment's JSON, as tracklog-svc's detail has it)."""
    attachments = [
        {"filename": "drawing.pdf", "content_type": "application/pdf", "size": 7,
         "document": store.keep("console/r1/1", b"drawing").model_dump(mode="json"), **second},
        {"filename": None, "content_type": "text/csv", "size": 5,
         "document": store.keep("console/r1/2", b"a,b,c").model_dump(mode="json")},
    ]  # fmt: skip
    return {
        "id": "m1", "direction": "outbound", "status": "failed", "filename": "po.x12",
        "content_type": "application/edi-x12", "message_id": "<1@myco>", "station": "MYCO",
        "partner": "ACME", "subject": "PO 1", "size": 3,
        "document": store.keep("console/r1", b"ISA").model_dump(mode="json"),
        "attachments": attachments,
    }  # fmt: skip


def confirmed(form: str, **ticked: str) -> dict[str, str]:
    """What the confirmation page's form posts: its hidden fields (the CSRF token, the
    resends it showed, its one-time token) and the boxes ``ticked``."""
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    return dict(hidden) | ticked


async def post_resend(app: Any) -> Any:
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        form = await http.get("/tracklog/m1/resend")
        return await http.post("/tracklog/m1/resend", data=confirmed(form.text))


async def test_a_resend_sends_every_document_again_in_order(app: Any, bus: FakeBus) -> None:
    original = sent_with_attachments(fakes_of(app).documents)
    fakes_of(app).backends.tracklog.details["m1"] = original
    answer = await post_resend(app)
    assert answer.status_code == 303
    ((request, _),) = bus.published
    assert answer.headers["location"] == f"/sent/{request.request_id}"
    assert request.replays == "<1@myco>"
    assert (request.filename, request.content_type, request.subject) == (
        "po.x12", "application/edi-x12", "PO 1"
    )  # fmt: skip
    assert request.document is not None
    assert request.document.name == "console/r1"
    assert [(a.filename, a.content_type, a.document.name if a.document else None)
            for a in request.attachments] == [
        ("drawing.pdf", "application/pdf", "console/r1/1"), (None, "text/csv", "console/r1/2")
    ]  # fmt: skip
    for sent, kept in zip(request.attachments, original["attachments"], strict=True):
        assert sent.document is not None
        assert sent.document.model_dump(mode="json") == kept["document"]
    (row,) = await audit_rows(app, entity="message")
    assert row == (
        f"admin@example.com message MYCO → ACME resent Resend of: <1@myco> "
        f"Request: {request.request_id}"
    )


async def test_the_same_confirmation_sent_twice_is_one_resend_whoever_published_it_first(
    app: Any, bus: FakeBus
) -> None:
    """JetStream drops the second publish of a confirmation's request id (another console
    replica, or this one before a restart, published it): that is this very resend, not an
    error; a fresh request id dropped as a repeat would be one."""
    fakes_of(app).backends.tracklog.details["m1"] = sent_with_attachments(fakes_of(app).documents)
    bus.duplicate = True
    answer = await post_resend(app)
    assert answer.status_code == 303
    ((request, _),) = bus.published
    assert answer.headers["location"] == f"/sent/{request.request_id}"


async def test_a_resend_sends_documents_sent_inline_again_from_outbound_svc(
    app: Any, bus: FakeBus
) -> None:
    """Small documents sent inline (``as2bus send``) are kept by outbound-svc only, which
    tracklog-svc's detail shows as no reference: the resend refused them ("kept only while it
    was in flight") though the message page offered it."""
    store = fakes_of(app).documents
    original = sent_with_attachments(store, document=None)  # the second one sent inline
    original["document"] = None  # and the first
    fakes_of(app).backends.outbound.kept["<1@myco>"] = [b"ISA*01~", b"%PDF drawing", None]
    fakes_of(app).backends.tracklog.details["m1"] = original
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = await http.get("/tracklog/m1")
        form = await http.get("/tracklog/m1/resend")
        answer = await http.post("/tracklog/m1/resend", data=confirmed(form.text))
    assert '<a class="button" href="/tracklog/m1/resend">Resend…</a>' in page.text
    assert "Cannot resend" not in form.text
    assert answer.status_code == 303, answer.text
    ((request, _),) = bus.published
    assert answer.headers["location"] == f"/sent/{request.request_id}"
    assert (request.replays, request.station, request.partner, request.subject) == (
        "<1@myco>", "MYCO", "ACME", "PO 1"
    )  # fmt: skip
    assert (request.document, request.inline_bytes()) == (None, b"ISA*01~")
    assert (request.filename, request.content_type) == ("po.x12", "application/edi-x12")
    drawing, csv = request.attachments
    assert (drawing.filename, drawing.content_type, drawing.inline_bytes()) == (
        "drawing.pdf", "application/pdf", b"%PDF drawing"
    )  # fmt: skip
    assert csv.document is not None
    assert (csv.document.name, csv.inline_base64) == ("console/r1/2", None)


RETENTION_OVER = "is no longer kept: the retention of sent documents is over"
NOT_KEPT = {
    "expired": f"its document 2 (drawing.pdf) {RETENTION_OVER}",
    "inline-expired": f"its document 2 (drawing.pdf) {RETENTION_OVER}",
    "first-inline-expired": f"its document {RETENTION_OVER}",
}


@pytest.mark.parametrize(("gone", "error"), NOT_KEPT.items(), ids=NOT_KEPT.keys())
async def test_a_resend_with_a_document_not_kept_says_which_and_sends_nothing(
    app: Any, bus: FakeBus, gone: str, error: str
) -> None:
    """Said on the confirmation page, without its "Resend it" button (it showed both), and
    on the message page no Resend… is offered."""
    store: FakeDocuments = fakes_of(app).documents
    outbound = fakes_of(app).backends.outbound
    if gone == "inline-expired":  # outbound-svc kept it in its database, until the retention
        original = sent_with_attachments(store, document=None)
        outbound.kept["<1@myco>"] = [None, None, None]
    elif gone == "first-inline-expired":  # outbound-svc has it no more
        original = sent_with_attachments(store) | {"document": None}
    else:
        original = sent_with_attachments(store)
        del store.objects["console/r1/1"]
    fakes_of(app).backends.tracklog.details["m1"] = original
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = await http.get("/tracklog/m1")
        form = await http.get("/tracklog/m1/resend")
        # The form of a confirmation shown while they were still kept.
        posted = confirmed(form.text, seen="0", token=str(uuid.uuid4()))
        answer = await http.post("/tracklog/m1/resend", data=posted)
    assert "Resend…" not in page.text
    for refused in (form, answer):
        assert refused.status_code == 200
        assert f"Cannot resend: {error}" in refused.text
        assert "Resend it" not in refused.text
    assert bus.published == []


def said_in(page: str) -> str:
    """A page's text as read: without its tags, entities as their characters, spaces single."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def resent(number: int, status: str, at: str) -> dict[str, Any]:
    """tracklog-svc's row of a resend of m1 (``replays`` its Message-ID)."""
    return {"id": f"r{number}", "direction": "outbound", "message_id": f"<r{number}@myco>",
            "request_id": f"console-r{number}", "status": status, "created_at": at,
            "replays": "<1@myco>", "partner": "ACME", "filename": "po.x12"}  # fmt: skip


async def test_the_message_page_says_how_often_it_was_resent_and_how_each_went(
    app: Any, bus: FakeBus
) -> None:
    """The page of a failed message resent and delivered still offered a plain Resend…,
    with no word that it had been resent."""
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["m1"] = sent_with_attachments(fakes_of(app).documents)
    tracklog.listed = [resent(1, "failed", "2026-01-02T10:00:00+00:00"),
                       resent(2, "delivered", "2026-01-02T11:00:00+00:00")]  # fmt: skip
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = (await http.get("/tracklog/m1")).text
    said = said_in(page)
    assert "Resent 2 times: <r2@myco> delivered 2026-01-02 11:00:00 UTC, " in said
    assert "<r1@myco> failed 2026-01-02 10:00:00 UTC" in said
    assert '<a href="/tracklog/r2">&lt;r2@myco&gt;</a>' in page
    assert '<a class="button" href="/tracklog/m1/resend">Resend again…</a>' in page


async def confirm_after(app: Any, *rows: dict[str, Any]) -> tuple[str, Any, Any]:
    """The confirmation page of m1, resent as ``rows``; then its form posted as shown, and
    with "Send another copy anyway" ticked."""
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["m1"] = sent_with_attachments(fakes_of(app).documents)
    tracklog.listed = list(rows)
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        form = (await http.get("/tracklog/m1/resend")).text
        unticked = await http.post("/tracklog/m1/resend", data=confirmed(form))
        ticked = await http.post("/tracklog/m1/resend", data=confirmed(form, again="yes"))
    return form, unticked, ticked


WARNINGS = {
    "delivered": "Already resent on 2026-01-02 11:00:00 UTC as <r2@myco>, which was "
    "delivered: sending it again gives the partner another copy.",
    "retrying": "Already resent on 2026-01-02 11:00:00 UTC as <r2@myco>, which is still on "
    "its way (retrying): sending it again can give the partner another copy.",
}


@pytest.mark.parametrize(("status", "warning"), WARNINGS.items(), ids=WARNINGS.keys())
async def test_a_resend_that_reached_the_partner_is_named_and_sending_again_needs_a_tick(
    app: Any, bus: FakeBus, status: str, warning: str
) -> None:
    """Resend it sent a third copy without a word that a resend had been delivered."""
    form, unticked, ticked = await confirm_after(
        app, resent(2, status, "2026-01-02T11:00:00+00:00")
    )
    assert warning in said_in(form)
    assert '<input type="checkbox" id="f-again" name="again" value="yes" required>' in form
    assert '<label for="f-again">Send another copy anyway</label>' in form
    assert unticked.status_code == 409
    assert (
        "Not sent: it was resent already: tick “Send another copy anyway” to send the partner "
        "another copy." in html.unescape(unticked.text)
    )
    assert ticked.status_code == 303  # ticked: one more copy, as asked
    ((request, _),) = bus.published
    assert request.replays == "<1@myco>"


async def test_after_failed_resends_only_no_tick_is_asked(app: Any, bus: FakeBus) -> None:
    form, unticked, _ = await confirm_after(app, resent(1, "failed", "2026-01-02T10:00:00+00:00"))
    assert "Resent once before, never delivered:" in form
    assert 'name="again"' not in form
    assert unticked.status_code == 303
    assert len(bus.published) == 2  # each post sent: neither asked for the tick


async def test_the_same_confirmation_posted_again_sends_nothing_more(
    app: Any, bus: FakeBus
) -> None:
    """The browser's Back button led to the confirmation again, and Resend it sent the
    partner yet another copy. Posted again once tracklog-svc has the resend, the form is
    refused; posted again before, it is the same request (its request id), which outbound-svc
    takes once."""
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["m1"] = sent_with_attachments(fakes_of(app).documents)
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        form = await http.get("/tracklog/m1/resend")
        first = await http.post("/tracklog/m1/resend", data=confirmed(form.text))
        before_recorded = await http.post("/tracklog/m1/resend", data=confirmed(form.text))
        tracklog.listed = [resent(1, "queued", "2026-01-02T11:00:00+00:00")]
        after_recorded = await http.post("/tracklog/m1/resend", data=confirmed(form.text))
        ticked_too = await http.post("/tracklog/m1/resend",
                                     data=confirmed(form.text, again="yes"))  # fmt: skip
    assert form.headers["cache-control"] == "no-store"  # Back asks for it again
    assert first.status_code == before_recorded.status_code == 303
    assert first.headers["location"] == before_recorded.headers["location"]
    (one, _), (again, _) = bus.published
    assert one.request_id == again.request_id
    assert first.headers["location"] == f"/sent/{one.request_id}"
    for refused in (after_recorded, ticked_too):
        assert refused.status_code == 409
        assert (
            "Not sent: this message was resent meanwhile, as &lt;r1@myco&gt; (queued); look at "
            "it before sending another copy." in refused.text
        )
        assert 'name="seen" value="1"' in refused.text  # a new confirmation, as it is now
        assert 'name="again"' in refused.text
    assert len(bus.published) == 2


async def test_a_confirmation_without_its_fields_sends_nothing(app: Any, bus: FakeBus) -> None:
    fakes_of(app).backends.tracklog.details["m1"] = sent_with_attachments(fakes_of(app).documents)
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        form = (await http.get("/tracklog/m1/resend")).text
        bare = await http.post("/tracklog/m1/resend", data={"csrf": csrf_of(form)})
        forged = await http.post("/tracklog/m1/resend", data=confirmed(form, token="x"))
    for refused in (bare, forged):
        assert refused.status_code == 409
        assert "Not sent: the confirmation was incomplete; look at it again and confirm." in (
            refused.text
        )
    assert bus.published == []


class TwoPartnerships(FakeBackends):
    async def enabled_partnerships(self) -> list[dict[str, Any]]:
        return [{"id": "p1", "station_as2_id": "MYCO", "partner_as2_id": "ACME"},
                {"id": "p2", "station_as2_id": "MYCO", "partner_as2_id": "SLOW"}]  # fmt: skip


async def test_a_refused_form_keeps_the_partnership_and_the_fields_typed(
    app: Any, bus: FakeBus
) -> None:
    """Back on the first partnership, a second try would go to the wrong partner."""
    wiring.replace(app, backends=TwoPartnerships())
    empty = [("file", ("empty.x12", b"", "application/edi-x12"))]
    answer = await post_send(app, empty, partnership="p2", subject="PO 7",
                             content_type="application/edi-x12")  # fmt: skip
    assert "Nothing was sent: empty.x12 is empty. Choose the files again" in answer.text
    options = re.findall(r'<option value="(p\d)"( selected)?>', answer.text)
    assert options == [("p1", ""), ("p2", " selected")]
    assert 'name="subject" value="PO 7"' in answer.text
    assert 'value="application/edi-x12"' in answer.text
    assert bus.published == []


async def sent_page(app: Any, url: str) -> Any:
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        return await http.get(url)


async def test_the_sent_page_waits_for_the_track_log_then_says_what_to_do(app: Any) -> None:
    """tracklog-svc never records the request: the page reloads itself, carrying the time it
    started, for a minute, then stops and points at the TrackLog."""
    first = await sent_page(app, "/sent/console-r1")
    refresh = re.search(r'<meta http-equiv="refresh" content="1; url=([^"]+)">', first.text)
    assert refresh is not None
    since = int(refresh.group(1).split("since=")[1])
    assert refresh.group(1) == f"/sent/console-r1?since={since}"
    assert abs(since - time.time()) < 5
    assert "is on its way" in first.text

    later = await sent_page(app, f"/sent/console-r1?since={since - 30}")
    assert f"url=/sent/console-r1?since={since - 30}" in later.text  # the same start

    given_up = await sent_page(app, f"/sent/console-r1?since={since - 61}")
    assert 'http-equiv="refresh"' not in given_up.text
    assert "has not recorded request <code>console-r1</code> after 60 seconds" in given_up.text
    assert '<a href="/tracklog?q=console-r1">TrackLog</a>' in given_up.text
    assert '<a href="/sent/console-r1">Wait again</a>' in given_up.text


async def test_the_sent_page_opens_the_message_once_recorded(app: Any) -> None:
    fakes_of(app).backends.tracklog.listed = [{"id": "m1"}]
    answer = await sent_page(app, "/sent/console-r1?since=1")
    assert (answer.status_code, answer.headers["location"]) == (303, "/tracklog/m1")


async def test_a_refused_requests_page_links_to_send_file_on_its_partnership(app: Any) -> None:
    """ "Send the file again with Send File" opened the form on the first partnership: a
    second try, made in a hurry, went to whichever partner came first."""
    wiring.replace(app, backends=TwoPartnerships())
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["r1"] = {
        "id": "r1", "direction": "outbound", "status": "rejected", "filename": "po.x12",
        "request_id": "console-1", "message_id": None, "station": "MYCO", "partner": "SLOW",
        "document": None, "timeline": [],
    }  # fmt: skip
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = (await http.get("/tracklog/r1")).text
        link = re.search(r'<a href="(/send\?[^"]+)">send the file again with Send File</a>', page)
        assert link is not None, page
        form = (await http.get(html.unescape(link.group(1)))).text
        gone = (await http.get("/send?station=MYCO&partner=GONE")).text
    options = re.findall(r'<option value="(p\d)"( selected)?>', form)
    assert options == [("p1", ""), ("p2", " selected")]
    assert "Nothing was sent" not in form
    # A partnership no longer enabled is said, and none is chosen in its place.
    assert "There is no enabled partnership from MYCO to GONE: choose one." in gone
    assert '<option value="" selected disabled>Choose a partnership</option>' in gone
    assert re.findall(r'<option value="(p\d)"( selected)?>', gone) == [("p1", ""), ("p2", "")]


async def test_a_subject_with_a_line_break_is_refused_at_the_form(app: Any, bus: FakeBus) -> None:
    """It would end the message's Subject header: every attempt failed with a Python error."""
    files = [("file", ("po.x12", b"ISA*00~", "application/edi-x12"))]
    answer = await post_send(app, files, subject="PO 9\r\nX-Injected: 1")
    assert answer.status_code == 200
    assert "Nothing was sent: the subject must be one line: take out its line breaks" in (
        answer.text
    )
    assert bus.published == []
    assert fakes_of(app).documents.objects == {}


async def test_a_file_name_with_a_line_break_is_refused_at_the_form(app: Any, bus: FakeBus) -> None:
    """No browser sends one (they escape it): a request made by hand, with a bare LF in the
    name (a CRLF would end the part's header line)."""
    name = b'filename="a\nX-Inj: 1.txt"'
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        csrf = csrf_of((await http.get("/send")).text).encode()
        body = b"".join([
            b'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n' + csrf + b"\r\n",
            b'--b\r\nContent-Disposition: form-data; name="partnership"\r\n\r\np1\r\n',
            b'--b\r\nContent-Disposition: form-data; name="file"; ' + name + b"\r\n"
            b"Content-Type: text/plain\r\n\r\nhello\r\n--b--\r\n",
        ])  # fmt: skip
        answer = await http.post(
            "/send", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
    assert answer.status_code == 200
    assert "Nothing was sent: a file name must be one line: rename the file without line" in (
        answer.text
    )
    assert bus.published == []
    assert fakes_of(app).documents.objects == {}


async def test_the_form_names_partners_whose_messages_wait_for_a_retry(app: Any) -> None:
    """A file sent to a partner that is down waits behind the others: the form says so
    before it is sent, with why the latest attempt failed."""
    tracklog = fakes_of(app).backends.tracklog
    tracklog.partner_health = [{
        "partner": "ACME", "waiting": 3, "waiting_by_status": {"retrying": 3},
        "retrying_since": "2026-12-05T10:00:00Z",
        "last_retrying": {"id": "r-1", "message_id": "<r1@myco>", "filename": "po.x12",
                          "status": "retrying", "updated_at": "2026-12-05T10:30:00Z",
                          "error_code": None, "error": "connection refused"},
    }, {"partner": "ELSE", "waiting": 1, "waiting_by_status": {"retrying": 1}}]  # fmt: skip
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = (await http.get("/send")).text
    (warning,) = re.findall(r'<p class="warning retrying-partner">(.*?)</p>', page, re.S)
    said = " ".join(re.sub(r"<[^>]+>", " ", warning).split())
    assert said == (
        "ACME has 3 messages waiting for a retry since 2026-12-05 10:00:00 UTC (the latest "
        "attempt: connection refused): a file sent to it now waits too. Partner health has a "
        "connection test."
    )
