"""A message's detail page and its downloads, with a fake tracklog-svc and object store
(conftest.py): the milestone ladder, the MDN section, the message as sent."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from .conftest import FakeDocuments, client, fakes_of, sign_in

FINGERPRINT = "ab" * 32
SENT = b"AS2-From: MYCO\r\nAS2-To: ACME\r\n\r\n" + bytes(range(256))
MDN = b"AS2-From: ACME\r\nContent-Type: multipart/signed\r\n\r\n--boundary\r\n..."
T = "2026-01-02T10:00:00+00:00"


def delivered(store: FakeDocuments, **sent: Any) -> dict[str, Any]:
    """An outbound message delivered with a signed MDN, its message and MDN kept."""
    sent_data = {"attempt": 1, "headers": {"AS2-To": "ACME"}, "mdn_mode": "sync",
                 "raw": store.keep("sent/1", SENT).model_dump(), **sent}  # fmt: skip
    mdn_data = {"disposition": "processed", "modifier": None, "mic": "bWlj", "mic_alg": "sha256",
                "text": "Received <script>alert(1)</script>", "signed": True,
                "signature_valid": True, "mode": "sync", "verified_with": FINGERPRINT}  # fmt: skip
    return {
        "id": "m1", "direction": "outbound", "status": "delivered", "filename": "po.x12",
        "message_id": "<1@myco>", "station": "MYCO", "partner": "ACME", "size": 3,
        "attempts": 1, "queued_at": T, "sent_at": T, "mdn_at": T, "mdn_requested": "sync",
        "mdn_mode": "sync", "mdn_disposition": "processed", "signature": "valid",
        "mic_matches": True, "sent_mic": "bWlj", "mdn_mic": "bWlj", "document": None,
        "mdn_raw": store.keep("mdn/1", MDN).model_dump(),
        "timeline": [
            {"event_type": "MessageSent", "occurred_at": T, "summary": "", "data": sent_data},
            {"event_type": "MdnReceived", "occurred_at": T, "summary": "", "data": mdn_data},
            {"event_type": "MessageDelivered", "occurred_at": T, "summary": "", "data": {}},
        ],
    }  # fmt: skip


async def test_the_message_as_sent_downloads_byte_for_byte(app: Any) -> None:
    fakes_of(app).backends.tracklog.details["m1"] = delivered(fakes_of(app).documents)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = await http.get("/tracklog/m1")
        assert '<a href="/tracklog/m1/download/message">The message as sent</a>' in page.text
        answer = await http.get("/tracklog/m1/download/message")
    assert answer.status_code == 200
    assert answer.content == SENT
    assert answer.headers["content-type"] == "message/rfc822"
    assert "as2-message-m1.eml" in answer.headers["content-disposition"]


async def test_a_message_not_kept_or_gone_is_410(app: Any) -> None:
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["m1"] = delivered(fakes_of(app).documents, raw=None)
    tracklog.details["m2"] = delivered(fakes_of(app).documents)
    fakes_of(app).documents.objects.pop("sent/1")
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        assert "The message as sent: not kept" in (await http.get("/tracklog/m1")).text
        not_kept = await http.get("/tracklog/m1/download/message")
        gone = await http.get("/tracklog/m2/download/message")
    assert not_kept.status_code == 410
    assert "There is no message to download: it was not kept" in not_kept.text
    assert gone.status_code == 410
    assert "its retention is over" in gone.text


async def test_the_mdn_section_shows_what_the_partner_answered(app: Any) -> None:
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["m1"] = delivered(fakes_of(app).documents)
    tracklog.certificates = [{"kind": "partner", "alias": "acme-2026", "subject": "CN=ACME",
                              "fingerprint_sha256": FINGERPRINT}]  # fmt: skip
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog/m1")).text
    start = page.index('<section class="mdn">')
    section = page[start : page.index("</section>", start)]
    text = html.unescape(" ".join(section.split()))
    assert "Received <script>alert(1)</script>" in text
    assert "<script>" not in section  # the partner's text is escaped
    assert '<code class="mic-expected">bWlj</code>' in section
    assert '<code class="mic-received">bWlj</code>' in section
    assert '<td class="mic-result">matches</td>' in section
    assert "Signature verified with: acme-2026 (partner, CN=ACME)" in text
    headers = "AS2-From: ACME\nContent-Type: multipart/signed"
    assert f'<pre class="mdn-headers">{headers}</pre>' in section
    assert fakes_of(app).documents.open_reads == 0
    assert '<li class="done"><span class="milestone">MDN received</span>' in page


async def test_an_unverified_mdn_and_a_wrong_mic_say_so_and_stop_delivery(app: Any) -> None:
    detail = delivered(fakes_of(app).documents)
    detail["timeline"][1]["data"].update(signature_valid=None, verified_with=None)
    detail.update(status="failed", failed_at=T, error_code="mic-mismatch",
                  error="the MIC does not match", mic_matches=False, mdn_mic="b3RoZXI=",
                  mdn_raw=None)  # fmt: skip
    fakes_of(app).backends.tracklog.details["m1"] = detail
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog/m1")).text
    assert "Signed, but not verified" in page
    assert "DOES NOT MATCH" in page
    assert "mdn-headers" not in page  # no MDN kept: no headers, no error
    assert ('<li class="stopped"><span class="milestone">delivered</span> '
            '<span class="milestone-state">stopped here</span> '
            '<span class="status status-failed">failed</span>') in page  # fmt: skip


async def test_an_inbound_message_names_the_certificate_that_verified_it(app: Any) -> None:
    raw = fakes_of(app).documents.keep("received/1", SENT).model_dump()
    received = {"headers": {"AS2-From": "ACME"}, "signed_with": FINGERPRINT, "raw": raw}
    fakes_of(app).backends.tracklog.details["i1"] = {
        "id": "i1", "direction": "inbound", "status": "received", "attempts": 0, "document": None,
        "created_at": T, "received_at": T, "signature": "valid",
        "timeline": [{"event_type": "MessageReceived", "occurred_at": T, "summary": "",
                      "data": received}],
    }  # fmt: skip
    fakes_of(app).backends.tracklog.certificates = [
        {"kind": "partner", "alias": "acme-2026", "subject": "CN=ACME",
         "fingerprint_sha256": FINGERPRINT}]  # fmt: skip
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog/i1")).text
        answer = await http.get("/tracklog/i1/download/message")
    assert "Signature verified with: acme-2026 (partner, CN=ACME)" in page
    assert '<a href="/tracklog/i1/download/message">The message as received</a>' in page
    assert '<section class="mdn">' not in page  # the MDN section is for outbound messages
    assert answer.content == SENT


def several(store: FakeDocuments) -> dict[str, Any]:
    """An inbound message of three documents (RFC 6362), all kept."""
    first = store.keep("in/x", b"ISA*first~").model_dump()
    more = [
        {"filename": "invoice <1>.xml", "content_type": "application/xml", "size": 10,
         "document": store.keep("in/x/attachment-1", b"<invoice/>").model_dump()},
        {"filename": None, "content_type": "application/pdf", "size": 8,
         "document": store.keep("in/x/attachment-2", b"%PDF-1.7").model_dump()},
    ]  # fmt: skip
    return {
        "id": "i3", "direction": "inbound", "status": "mdn-sent", "attempts": 0,
        "filename": "order.x12", "content_type": "application/edi-x12", "size": 10,
        "document": first, "attachments": more, "created_at": T, "received_at": T,
        "timeline": [],
    }  # fmt: skip


async def test_every_document_of_a_message_is_listed_and_downloads(app: Any) -> None:
    fakes_of(app).backends.tracklog.details["i3"] = several(fakes_of(app).documents)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog/i3")).text
        second = await http.get("/tracklog/i3/download/attachment/1")
        third = await http.get("/tracklog/i3/download/attachment/2")
        first = await http.get("/tracklog/i3/download/document")
    assert '<a href="/tracklog/i3/download/document">The document</a> (order.x12)' in page
    assert ('<a href="/tracklog/i3/download/attachment/1">Document 2</a> '
            "(invoice &lt;1&gt;.xml, application/xml, 10 bytes)") in page  # fmt: skip
    assert ('<a href="/tracklog/i3/download/attachment/2">Document 3</a> '
            "(no file name, application/pdf, 8 bytes)") in page  # fmt: skip
    assert '<dd class="documents">3 in one message' in page
    assert [first.content, second.content, third.content] == [b"ISA*first~", b"<invoice/>",
                                                               b"%PDF-1.7"]  # fmt: skip
    assert second.headers["content-type"].startswith("application/xml")
    assert "filename*=UTF-8''invoice%20%3C1%3E.xml" in second.headers["content-disposition"]
    assert third.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''document-3" in third.headers["content-disposition"]
    assert fakes_of(app).documents.open_reads == 0


async def test_a_document_out_of_range_or_gone_is_said_so(app: Any) -> None:
    fakes_of(app).backends.tracklog.details["i3"] = several(fakes_of(app).documents)
    fakes_of(app).backends.tracklog.details["m1"] = delivered(fakes_of(app).documents)
    fakes_of(app).documents.objects.pop("in/x/attachment-2")
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        gone = await http.get("/tracklog/i3/download/attachment/2")
        beyond = await http.get("/tracklog/i3/download/attachment/3")
        before = await http.get("/tracklog/i3/download/attachment/0")
        unknown = await http.get("/tracklog/nope/download/attachment/1")
        one = await http.get("/tracklog/m1/download/attachment/1")
    assert gone.status_code == 410
    assert "its retention is over" in gone.text
    assert "There is no document 4 of message i3" in beyond.text
    assert "There is no document 1 of message i3" in before.text
    assert "There is no message nope" in unknown.text
    assert "There is no document 2 of message m1" in one.text  # one document: nothing more


async def test_a_message_of_one_document_lists_no_more(app: Any) -> None:
    detail = several(fakes_of(app).documents)
    del detail["attachments"]  # as from a tracklog-svc before attachments
    fakes_of(app).backends.tracklog.details["i1"] = detail
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog/i1")).text
    assert "download/attachment" not in page
    assert 'class="documents"' not in page


async def test_the_timeline_names_each_event_in_words(app: Any) -> None:
    """It showed the event class names: "MessageQueued", "AttemptStarted", "MdnReceived"."""
    detail = delivered(fakes_of(app).documents)
    detail["timeline"] = [
        {"event_type": kind, "occurred_at": T, "summary": f"line of {kind}", "data": {}}
        for kind in ("MessageQueued", "AttemptStarted", "MessageSent", "MdnReceived",
                     "MessageDelivered", "MessageArchivedToS3")
    ]  # fmt: skip
    fakes_of(app).backends.tracklog.details["m1"] = detail
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog/m1")).text
    timeline = page[page.index('<ol class="timeline">') :]
    steps = re.findall(r'<span class="step">([^<]*)</span>', timeline)
    assert steps == ["queued", "attempt started", "sent", "MDN received", "delivered",
                     "message archived to S3"]  # fmt: skip
    assert "line of AttemptStarted" in timeline  # tracklog-svc's line about it stays


async def test_a_received_message_has_no_attempts_and_says_whose_signature_was_checked(
    app: Any,
) -> None:
    """It read "Attempts 0" and, beside the MDN, "sync: processed, signature valid", though the
    signature checked is the partner's on its message, not one on the MDN."""
    fakes_of(app).backends.tracklog.details["i1"] = {
        "id": "i1", "direction": "inbound", "status": "mdn-sent", "attempts": 0,
        "document": None, "created_at": T, "received_at": T, "signature": "valid",
        "mdn_mode": "sync", "mdn_disposition": "processed", "mdn_modifier": None,
        "mdn_delivered": True, "mdn_attempts": 1, "mdn_at": T, "timeline": [],
    }  # fmt: skip
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog/i1")).text
    facts = page[page.index('<dl class="facts">') :]
    facts = html.unescape(" ".join(facts[: facts.index("</dl>")].split()))
    assert "Attempts" not in facts
    assert ("<dt>Signature</dt><dd class=\"message-signature\">the partner signed the "
            "message; the signature was verified</dd>") in facts  # fmt: skip
    assert '<dt>Our MDN</dt><dd class="mdn-sent">sync: processed, sent to the partner</dd>' in facts
    assert "signature valid" not in facts


async def test_a_refused_send_request_says_nothing_was_sent_or_kept(app: Any) -> None:
    """It showed "Size — bytes" and "The document: kept only while in flight (sent inline)"
    for a request outbound-svc refused before sending anything (here: no partner
    certificate), which is false: nothing of it was ever in flight."""
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["r1"] = {
        "id": "r1", "direction": "outbound", "status": "rejected", "filename": "po.x12",
        "request_id": "console-16d56f70", "message_id": None, "station": "MYCO",
        "partner": "ACME", "size": None, "document": None, "attempts": 0, "created_at": T,
        "rejected_at": T, "mic_matches": None, "error_code": "CERT_NOT_FOUND",
        "error": "partner certificate 'acme': none in service", "timeline": [],
    }  # fmt: skip
    tracklog.details["m1"] = delivered(fakes_of(app).documents)  # sent inline, retention over
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = html.unescape(" ".join((await http.get("/tracklog/r1")).text.split()))
        sent = html.unescape(" ".join((await http.get("/tracklog/m1")).text.split()))
    assert "<h1>po.x12 " in page
    assert "<dt>Size</dt>" not in page
    downloads = page[page.index("<h2>Downloads</h2>") : page.index("<h2>Timeline</h2>")]
    assert "kept only while in flight" not in downloads
    assert ("Nothing to download: the request was refused before anything was sent, and "
            "nothing of it was kept. Once the cause is fixed, "
            '<a href="/send?station=MYCO&partner=ACME">send the file again with Send File</a> '
            "(on the same partnership).") in downloads  # fmt: skip
    # A message that was sent keeps its wording.
    assert "<dt>Size</dt><dd>3 bytes</dd>" in sent
    assert "The document: no longer kept (the retention of sent documents is over)" in sent


def refused_inbound() -> dict[str, Any]:
    """A partner's message inbound-svc refused (it did not decrypt): no document was delivered
    and no copy of it kept, as tracklog-svc projects it from MessageRejected alone."""
    reason = "no key in service decrypts it"
    return {
        "id": "i9", "direction": "inbound", "status": "rejected", "message_id": "<9@acme>",
        "station": "MYCO", "partner": "ACME", "filename": None, "size": None,
        "document": None, "attempts": 0, "created_at": T, "rejected_at": T,
        "error_code": "decryption-failed", "error": reason, "signature": None,
        "timeline": [{"event_type": "MessageRejected", "occurred_at": T,
                      "summary": f"rejected: decryption-failed: {reason}",
                      "data": {"direction": "inbound", "modifier": "decryption-failed"}}],
    }  # fmt: skip


async def test_a_refused_inbound_message_says_no_document_was_handed_on(app: Any) -> None:
    """Its page said "The document: kept only while in flight (sent inline)", and the
    document link's answer "it was sent inline": neither is true of a message refused on
    arrival, of which nothing was delivered."""
    fakes_of(app).backends.tracklog.details["i9"] = refused_inbound()
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = html.unescape(" ".join((await http.get("/tracklog/i9")).text.split()))
        document = await http.get("/tracklog/i9/download/document")
        message = await http.get("/tracklog/i9/download/message")
    downloads = page[page.index("<h2>Downloads</h2>") : page.index("<h2>Timeline</h2>")]
    assert "in flight" not in downloads
    assert ("The document: not delivered (the message was refused, so no document was "
            "handed on)") in downloads  # fmt: skip
    assert ("The message as received: not kept (a refused message is not kept, so that a "
            "stranger cannot fill the object store)") in downloads  # fmt: skip
    assert "<dt>Size</dt>" not in page
    assert document.status_code == 410
    answer = html.unescape(" ".join(document.text.split()))
    assert ("There is no document to download: the message was refused, so no document was "
            "handed on.") in answer  # fmt: skip
    assert message.status_code == 410
    assert "a refused message is not kept" in html.unescape(message.text)


async def test_a_refused_send_request_has_no_document_to_download_and_says_why(
    app: Any,
) -> None:
    """The link's answer said the document "was sent inline", of a request never sent."""
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["r1"] = {
        "id": "r1", "direction": "outbound", "status": "rejected", "filename": "po.x12",
        "request_id": "console-1", "message_id": None, "document": None, "timeline": [],
    }  # fmt: skip
    tracklog.details["m1"] = delivered(fakes_of(app).documents)  # sent inline, retention over
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        refused = await http.get("/tracklog/r1/download/document")
        sent = await http.get("/tracklog/m1/download/document")
    assert refused.status_code == sent.status_code == 410
    assert ("There is no document to download: the request was refused before anything was "
            "sent.") in html.unescape(refused.text)  # fmt: skip
    assert ("The document is no longer kept: the retention of sent documents is over"
            ) in html.unescape(sent.text)  # fmt: skip


async def test_documents_sent_inline_download_from_outbound_svc(app: Any) -> None:
    """Small documents sent inline are kept by outbound-svc only (tracklog-svc's detail has no
    reference for them): the page said "kept only while in flight" and offered no download."""
    detail = delivered(fakes_of(app).documents, raw=None) | {
        "filename": "po ü.x12", "content_type": "application/edi-x12",
        "attachments": [
            {"filename": "note.txt", "content_type": "text/plain", "size": 4, "document": None},
            {"filename": "gone.csv", "content_type": "text/csv", "size": 3, "document": None},
        ],
    }  # fmt: skip
    fakes_of(app).backends.tracklog.details["m1"] = detail
    fakes_of(app).backends.outbound.kept["<1@myco>"] = [b"ISA*01~", b"note", None]
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = html.unescape((await http.get("/tracklog/m1")).text)
        first = await http.get("/tracklog/m1/download/document")
        second = await http.get("/tracklog/m1/download/attachment/1")
        third = await http.get("/tracklog/m1/download/attachment/2")
    assert '<a href="/tracklog/m1/download/document">The document</a> (po ü.x12)' in page
    assert ('<a href="/tracklog/m1/download/attachment/1">Document 2</a> (note.txt, '
            "text/plain, 4 bytes)") in page  # fmt: skip
    assert ("Document 3 (gone.csv, text/csv, 3 bytes, no longer kept (the retention of sent "
            "documents is over))") in page  # fmt: skip
    assert "in flight" not in page
    assert (first.status_code, first.content) == (200, b"ISA*01~")
    assert first.headers["content-type"] == "application/edi-x12"
    assert first.headers["content-disposition"] == "attachment; filename*=UTF-8''po%20%C3%BC.x12"
    assert (second.status_code, second.content) == (200, b"note")
    assert second.headers["content-type"].startswith("text/plain")
    assert "filename*=UTF-8''note.txt" in second.headers["content-disposition"]
    assert third.status_code == 410
    assert "The document is no longer kept: the retention of sent documents is over" in (
        html.unescape(third.text)
    )
    assert "/api/v1/messages/%3C1%40myco%3E/documents/1" in fakes_of(app).backends.outbound.asked


def on_its_way(status: str) -> dict[str, Any]:
    """An outbound message the partner has not taken yet: queued, no attempt recorded."""
    return {
        "id": "m1", "direction": "outbound", "status": status, "filename": "po.x12",
        "message_id": "<1@myco>", "station": "MYCO", "partner": "ACME", "size": 3,
        "attempts": 0 if status == "queued" else 1, "queued_at": T, "mdn_requested": "sync",
        "document": None, "mdn_raw": None,
        "timeline": [{"event_type": "MessageQueued", "occurred_at": T, "summary": "",
                      "data": {}}],
    }  # fmt: skip


NOT_YET = {
    "queued": "The message as sent: not yet sent",
    "sending": "The message as sent: being sent (stored once the partner takes it)",
    "retrying": "The message as sent: not yet sent",
}


@pytest.mark.parametrize(("status", "said"), NOT_YET.items(), ids=NOT_YET.keys())
async def test_a_message_on_its_way_is_followed_and_says_what_it_has_not_got_yet(
    app: Any, status: str, said: str
) -> None:
    """The page of a message on its way stayed on "sending" (it never updated), and its
    Downloads said "The message as sent: not kept", which reads as final."""
    fakes_of(app).backends.tracklog.details["m1"] = on_its_way(status)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = await http.get("/tracklog/m1")
        download = await http.get("/tracklog/m1/download/message")
    assert '<div id="message" data-follow>' in page.text  # console.js fetches it again
    assert "Live: this page follows the message until it settles." in page.text
    assert said in page.text
    assert "The MDN: not received yet" in page.text
    assert "not kept" not in page.text
    assert download.status_code == 410
    assert f"There is no message to download: it is {said.split(': ')[1]}." in download.text


async def test_a_settled_message_is_not_followed_unless_a_resend_is_on_its_way(
    app: Any,
) -> None:
    """Delivered: the page stands still (the last fetch of a followed page says so by coming
    without data-follow). A resend on its way: its status on this page is followed."""
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["m1"] = delivered(fakes_of(app).documents)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        settled = (await http.get("/tracklog/m1")).text
        tracklog.listed = [{"id": "r1", "message_id": "<r1@myco>", "status": "sending",
                            "created_at": T, "replays": "<1@myco>"}]  # fmt: skip
        resending = (await http.get("/tracklog/m1")).text
    assert '<div id="message">' in settled
    assert "data-follow" not in settled
    assert "The MDN as received" in settled
    assert '<div id="message" data-follow>' in resending


async def test_a_failed_message_no_attempt_of_which_was_taken_says_none_was_sent(
    app: Any,
) -> None:
    fakes_of(app).backends.tracklog.details["m1"] = on_its_way("failed")
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog/m1")).text
    assert "The message as sent: none: the partner took no attempt" in page
    assert "The MDN: none received" in page
    assert "data-follow" not in page


async def test_a_message_shows_its_subject_and_content_type(app: Any) -> None:
    """Operators know a document by its subject ("PO 1002"); one that never got through has
    no headers as sent, so the page shows the one it was queued with."""
    detail = delivered(fakes_of(app).documents)
    detail.update(subject="PO 1002 <urgent>", content_type="application/edi-x12")
    fakes_of(app).backends.tracklog.details["m1"] = detail
    fakes_of(app).backends.tracklog.details["m2"] = delivered(fakes_of(app).documents)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog/m1")).text
        older = (await http.get("/tracklog/m2")).text  # from a track log without them
    assert '<dt>Subject</dt><dd class="subject">PO 1002 &lt;urgent&gt;</dd>' in page
    assert "<dt>Content type</dt><dd><code>application/edi-x12</code></dd>" in page
    assert "<dt>Subject</dt>" not in older


async def test_a_retrying_message_says_why_when_next_and_what_to_do(app: Any) -> None:
    detail = delivered(fakes_of(app).documents)
    detail.update(status="retrying", attempts=2, next_attempt_at="2026-01-02T10:05:00+00:00",
                  error="could not reach http://127.0.0.1:9/: nothing is listening at "
                  "127.0.0.1:9: connection refused", mdn_disposition=None)  # fmt: skip
    fakes_of(app).backends.tracklog.details["m1"] = detail
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        read_only = (await http.get("/tracklog/m1")).text
        await sign_in(http, "admin@example.com")
        page = (await http.get("/tracklog/m1")).text
    section = html.unescape(page[page.index('<section class="cause retrying"') :])
    section = section[: section.index("</section>")]
    assert "Attempt 2 did not reach the partner: could not reach http://127.0.0.1:9/" in section
    assert "The next attempt is at 2026-01-02 10:05:00 UTC" in re.sub(r"<[^>]+>", "", section)
    assert 'action="/health/retry-now"' in section
    assert 'name="partner" value="ACME"' in section
    assert "Why it is being retried" in read_only
    assert 'action="/health/retry-now"' not in read_only  # viewers: no button
