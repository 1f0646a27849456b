"""What a row says a message asked of its MDN and under which Subject it went: an inbound row
from the partner's request headers (the MDN it asked of us, the MIC ours returned), an
outbound row's Subject from MessageQueued, else (events from before it carried one) from the
headers as sent."""

from __future__ import annotations

from typing import Any

import pytest

from as2bus.contracts import MessageQueued, MessageReceived, MessageSent, SendAttempt
from as2bus.testing.tracklog import in_memory, inbound, outbound
from as2bus.tracklog.domain import MessageState
from as2bus.tracklog.mdn_asked import MdnAsked, mdn_asked

SIGNED_SHA256 = (
    "signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, sha-256"
)


def only(events: list[Any]) -> MessageState:
    (row,) = in_memory(events).values()
    return row


def with_headers(headers: dict[str, str] | None) -> list[Any]:
    """A partner's message (and our MDN) whose MessageReceived carries ``headers``."""
    events = inbound("<p1@acme>")
    first = events[0]
    assert isinstance(first, MessageReceived)
    data = first.data.model_copy(update={"headers": headers, "mic": "bWlj, sha256"})
    return [first.model_copy(update={"data": data}), *events[1:]]


def test_an_inbound_row_says_what_the_partner_asked_of_our_mdn_and_the_mic_it_returned() -> None:
    row = only(with_headers({"Disposition-Notification-To": "x@acme",
                             "Disposition-Notification-Options": SIGNED_SHA256}))  # fmt: skip
    assert (row.mdn_requested, row.mdn_signature, row.mdn_mic) == (
        "sync", "required", "bWlj, sha256",
    )  # fmt: skip


def test_an_inbound_row_without_headers_says_nothing_of_them() -> None:
    row = only(with_headers(None))  # an inbound-svc that did not record them
    assert (row.mdn_requested, row.mdn_signature, row.mdn_mic) == (None, None, None)


@pytest.mark.parametrize(
    ("headers", "asked"),
    [
        ({}, MdnAsked("none", None)),
        ({"disposition-notification-to": "x"}, MdnAsked("sync", "none")),
        ({"Disposition-Notification-To": "x", "Receipt-Delivery-Option": "https://acme/mdn",
          "Disposition-Notification-Options": SIGNED_SHA256}, MdnAsked("async", "required")),
        ({"Disposition-Notification-To": "x", "Disposition-Notification-Options":
          "signed-receipt-protocol=optional,pkcs7-signature"}, MdnAsked("sync", "preferred")),
    ],
)  # fmt: skip
def test_what_a_partner_asked_of_our_mdn(headers: dict[str, str], asked: MdnAsked) -> None:
    assert mdn_asked(headers) == asked


def test_an_outbound_row_has_the_subject_it_was_sent_with() -> None:
    events = outbound("<m1@myco>")
    sent = next(e for e in events if isinstance(e, MessageSent))
    attempt: SendAttempt = sent.data.model_copy(update={"headers": {"Subject": "AS2 Message"}})
    with_subject = [sent.model_copy(update={"data": attempt}) if e is sent else e for e in events]
    assert only(with_subject).subject == "AS2 Message"
    assert only(events).subject is None  # no headers recorded, no Subject to show


def test_a_message_never_sent_has_the_subject_it_was_queued_with() -> None:
    """A message that failed before any POST got through has no headers as sent: its
    subject comes from MessageQueued (the console's Resend sends it again with it)."""
    events = outbound("<m2@myco>")
    queued = next(e for e in events if isinstance(e, MessageQueued))
    data = queued.data.model_copy(update={"subject": "PO 1002"})
    never_sent = [queued.model_copy(update={"data": data})]  # queued, then nothing got through
    assert only(never_sent).subject == "PO 1002"
    sent = next(e for e in events if isinstance(e, MessageSent))
    headers = sent.data.model_copy(update={"headers": {"Subject": "PO 1002"}})
    both = [*never_sent, sent.model_copy(update={"data": headers})]
    assert only(both).subject == "PO 1002"
