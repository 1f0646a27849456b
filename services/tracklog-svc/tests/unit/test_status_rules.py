"""Status derivation, precedence and message keys, without a database."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from as2bus.contracts import (
    Event,
    Failure,
    MdnFacts,
    MdnReceived,
    MdnReport,
    MdnSent,
    MessageDuplicate,
    MessageFailed,
    MessageQueued,
    MessageRejected,
    MessageRetrying,
    MessageSent,
    OutboundFacts,
    OutboundMessage,
    Rejection,
    Retry,
    SendAttempt,
    judge_mdn,
    outbound_verdict,
)
from as2bus.contracts.verdict import observe
from as2bus.testing.tracklog import T0, in_memory, inbound, outbound, rejected
from as2bus.tracklog.domain import MessageState
from as2bus.tracklog.keys import message_ref
from as2bus.tracklog.merge import apply, new_state


def only(events: list[Event]) -> MessageState:
    rows = in_memory(events)
    assert len(rows) == 1, rows
    return next(iter(rows.values()))


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({}, "delivered", None),
        ({"mdn": "processed/warning"}, "delivered-with-warnings", "partner-warning"),
        ({"mdn": "failed"}, "failed", "mdn-failed"),
        ({"mic_matches": False}, "failed", "mic-mismatch"),
        ({"mdn_mode": "async", "mdn": None}, "sent", None),
        ({"mdn_mode": "none"}, "delivered", None),
        ({"retries": 2, "fail": "CERT_HAS_EXPIRED: the partner's certificate"}, "failed",
         "CERT_HAS_EXPIRED"),
    ],
)  # fmt: skip
def test_an_outbound_lifecycle_ends_in_the_status_an_operator_expects(
    kwargs: dict[str, Any], status: str, code: str | None
) -> None:
    row = only(outbound("<m1@myco>", **kwargs))
    assert (row.status, row.error_code) == (status, code)
    assert (row.queued_at, row.request_id) == (T0, "req-<m1@myco>")


def test_each_stage_of_an_outbound_message_has_its_status() -> None:
    events = outbound("<m1@myco>", retries=1, mdn_mode="async")
    assert [only(events[: n + 1]).status for n in range(len(events))] == [
        "queued", "retrying", "sent", "delivered",
    ]  # fmt: skip
    row = only(events)
    assert (row.attempts, row.mdn_mode, row.signature) == (2, "async", "valid")
    assert row.time_to_mdn_ms == 6000  # queued at T0, MDN 3 steps of 2 s later


def test_a_retry_of_a_later_attempt_is_newer_than_an_earlier_send() -> None:
    """An async MDN that never came: outbound-svc sends again (attempt 2), which fails."""
    sent_1 = outbound("<m1@myco>", mdn_mode="async", mdn=None)
    retry = Retry(request_id="req-<m1@myco>", message_id="<m1@myco>", station="MYCO",
                  partner="acme", attempt=2, reason="timeout", next_attempt_at=T0)  # fmt: skip
    # Same instant as the first send: the attempt number decides, not the clock.
    retry_2 = MessageRetrying(occurred_at=sent_1[-1].occurred_at, data=retry)
    for events in ([*sent_1, retry_2], [retry_2, *sent_1]):
        row = only(events)
        assert (row.status, row.attempts, row.error) == ("retrying", 2, "timeout")


def test_failed_outranks_a_positive_mdn_whatever_the_order() -> None:
    """outbound-svc judges an async MDN (e.g. a MIC that is not ours) after inbound-svc
    reported it as processed; its MessageFailed is the final word."""
    events = outbound("<m1@myco>", mdn_mode="async", mic_matches=None)
    failure = Failure(request_id="req-<m1@myco>", message_id="<m1@myco>", station="MYCO",
                      partner="acme", attempts=1, reason="MIC mismatch")  # fmt: skip
    failed = MessageFailed(occurred_at=T0 + timedelta(minutes=1), data=failure)
    assert only(events).status == "delivered"
    assert only([*events, failed]).status == "failed"
    assert only([failed, *events]).status == "failed"
    assert only([*events, failed]).error == "MIC mismatch"


@pytest.mark.parametrize(
    ("attempts", "reason", "said"),
    [
        (1, "CERT_HAS_EXPIRED", "failed after 1 attempt: CERT_HAS_EXPIRED"),
        (2, "MIC mismatch", "failed after 2 attempts: MIC mismatch"),
        # outbound-svc counted them in its reason already: said once, not twice
        (6, "could not reach x: refused; gave up after 6 attempts",
         "failed: could not reach x: refused; gave up after 6 attempts"),
    ],
)  # fmt: skip
def test_a_failure_says_its_attempts_once_in_words(attempts: int, reason: str, said: str) -> None:
    failure = Failure(request_id="r", message_id="<m1@myco>", station="MYCO", partner="acme",
                      attempts=attempts, reason=reason)  # fmt: skip
    failed = MessageFailed(occurred_at=T0, data=failure)
    assert apply(new_state(uuid.uuid4(), "outbound", failed), failed).summary == said


def test_an_inbound_message_from_receipt_to_mdn() -> None:
    events = inbound("<p1@acme>", mdn_mode="async", mdn_delivered=False)
    assert only(events[:1]).status == "received"
    row = only(events)
    assert (row.status, row.mdn_error) == ("mdn-failed", "HTTP 502")
    assert row.error_code == "mdn-undelivered"
    later = inbound("<p1@acme>", mdn_mode="async", at=T0 + timedelta(minutes=1))[1]
    assert isinstance(later, MdnSent)
    retried = later.model_copy(update={"data": later.data.model_copy(update={"attempts": 2})})
    assert only([retried, *events]).status == "mdn-sent"


def test_a_resend_is_counted_on_the_original_not_a_new_row() -> None:
    row = only(inbound("<p1@acme>", duplicates=2))
    assert (row.status, row.duplicates, row.events) == ("mdn-sent", 2, 4)
    dup_only = only(inbound("<p1@acme>", duplicates=1)[2:])  # the original is not on the stream
    assert dup_only.status == "duplicate"


def test_a_replay_stopped_by_its_signature_is_a_duplicate_row_saying_why() -> None:
    """Replay protection: a new Message-ID, so a row of its own, its timeline the reason."""
    (dup,) = inbound("<p1@acme>", duplicates=1)[2:]
    assert isinstance(dup, MessageDuplicate)
    reason = "the same message was accepted on ... as Message-ID <p0@acme>: not delivered again"
    replay = dup.model_copy(update={"data": dup.data.model_copy(update={"reason": reason})})
    ref = uuid.uuid4()
    state = new_state(ref, "inbound", replay)
    entry = apply(state, replay)
    assert (state.status, entry.summary) == ("duplicate", f"duplicate: {reason}")
    plain = new_state(ref, "inbound", dup)
    assert apply(plain, dup).summary.startswith("duplicate: first received at ")


def test_a_message_received_after_a_rejected_attempt_counts_as_received() -> None:
    refused = rejected(direction="inbound", message_id="<p1@acme>", at=T0 - timedelta(hours=1))
    row = only([*inbound("<p1@acme>"), refused])
    assert (row.status, row.rejection_code) == ("mdn-sent", "decryption-failed")
    assert only([refused]).status == "rejected"


def test_message_keys() -> None:
    out = message_ref("outbound", message_id="<a@b>", partner="x")
    assert out == message_ref("outbound", message_id="<a@b>", partner="y")  # ours are unique
    assert message_ref("inbound", message_id="<a@b>", partner="x") != message_ref(
        "inbound", message_id="<a@b>", partner="y"
    )
    assert out != message_ref("inbound", message_id="<a@b>", partner="x")
    refused = rejected(direction="outbound", request_id="req-9")
    row = only([refused])
    assert row.id == message_ref("outbound", message_id=None, request_id="req-9")
    assert (row.status, row.message_id, row.request_id) == ("rejected", None, "req-9")


def test_a_refused_send_request_is_named_by_the_file_it_sent() -> None:
    data = Rejection(direction="outbound", message_id=None, request_id="console-1",
                     station="MYCO", partner="acme", filename="po.x12",
                     modifier="CERT_NOT_FOUND", code="CERT_NOT_FOUND",
                     reason="no certificate in service")  # fmt: skip
    row = only([MessageRejected(correlation_id="console-1", occurred_at=T0, data=data)])
    assert (row.status, row.filename, row.request_id) == ("rejected", "po.x12", "console-1")
    older = rejected(direction="outbound", request_id="req-9")  # published without a filename
    assert (only([older]).status, only([older]).filename) == ("rejected", None)


def _reused(message_id: str | None) -> MessageRejected:
    """outbound-svc's refusal of a request under the request id of <a@myco> (another file, to
    another partner); ``message_id``: the message that stands, None as published before."""
    reason = (
        "the request id 'req-<a@myco>' was used on 2026-03-01 12:00:00Z for another "
        "request (Message-ID <a@myco>); give each document its own request id"
    )
    data = Rejection(direction="outbound", message_id=message_id, request_id="req-<a@myco>",
                     station="MYCO", partner="globex", filename="other.x12",
                     modifier="REQUEST_ID_REUSED", code="REQUEST_ID_REUSED",
                     reason=reason)  # fmt: skip
    return MessageRejected(correlation_id="req-<a@myco>", occurred_at=T0 + timedelta(hours=1),
                           data=data)  # fmt: skip


def test_a_reused_request_id_is_a_line_on_the_message_that_stands_not_a_row() -> None:
    stands = outbound("<a@myco>", filename=None)
    refused = _reused("<a@myco>")
    row = only([*stands, refused])  # no second row
    assert (row.status, row.filename, row.partner) == ("delivered", None, "acme")
    assert (row.rejected_at, row.error) == (None, None)
    assert only([refused, *stands]) == row  # whichever comes first
    line = apply(new_state(row.id, "outbound", refused), refused).summary
    assert line.startswith("a later request with this request id was refused: the request id")


def test_a_reused_request_id_published_without_the_message_that_stands_says_so() -> None:
    row = only([_reused(None)])
    assert (row.status, row.error_code, row.filename) == (
        "rejected",
        "REQUEST_ID_REUSED",
        "other.x12",
    )
    assert "(Message-ID <a@myco>)" in (row.error or "")


def _published(signature: Any, mdn: MdnFacts | None, mode: Any = "sync") -> list[Event]:
    """What outbound-svc publishes for one message: queued, sent, the MDN, and a
    MessageFailed with the verdict's code and reason when the MDN fails it."""
    ids = {"request_id": "r1", "message_id": "<m1@myco>", "station": "MYCO", "partner": "acme"}
    t = [T0 + timedelta(seconds=n) for n in range(4)]
    queued = OutboundMessage(**ids, filename="a.edi", content_type="x", size=1)
    sent = SendAttempt(**ids, attempt=1, http_status=200, mdn_mode=mode, mic="abc=",
                       mdn_signature=signature)  # fmt: skip
    events: list[Event] = [MessageQueued(occurred_at=t[0], data=queued),
                           MessageSent(occurred_at=t[1], data=sent)]  # fmt: skip
    if mdn is None:
        return events
    report = MdnReport(original_message_id="<m1@myco>", station="MYCO", partner="acme",
                       disposition=mdn.disposition, modifier=mdn.modifier, mic=mdn.mic,
                       signed=mdn.signed, signature_valid=mdn.signature_valid,
                       mode=mode)  # fmt: skip
    events.append(MdnReceived(occurred_at=t[2], data=report))
    verdict = judge_mdn(mdn, signature=signature, expected_mic="abc=")
    if verdict.status == "failed":
        failure = Failure(**ids, attempts=1, reason=verdict.reason or "", code=verdict.code)
        events.append(MessageFailed(occurred_at=t[3], data=failure))
    return events


_GOOD = MdnFacts("processed", None, signed=True, signature_valid=True, mic="abc=")
_UNSIGNED = MdnFacts("processed", None, signed=False, signature_valid=None, mic="abc=")


@pytest.mark.parametrize(
    ("events", "status"),
    [
        (_published("required", _GOOD), "delivered"),
        (_published("required", replace(_GOOD, signature_valid=False)), "failed"),
        (_published("required", _UNSIGNED), "failed"),
        (_published("preferred", _UNSIGNED), "delivered-with-warnings"),
        (_published("preferred", _UNSIGNED, mode="async"), "delivered-with-warnings"),
        (_published("none", None, mode="none"), "delivered"),
        (_published("required", replace(_GOOD, disposition="failed", modifier="decryption-failed",
                                        mic=None)), "failed"),
        (_published("required", replace(_GOOD, mic="xyz=")), "failed"),
    ],
)  # fmt: skip
def test_the_row_says_what_as2bus_send_says_in_any_order(events: list[Event], status: str) -> None:
    """tracklog merges events in any order; ``as2bus send`` folds them as published: the
    same rule gives both the same status, code and words."""
    facts = OutboundFacts()
    for event in events:
        facts = observe(facts, event)
    said = outbound_verdict(facts)
    assert said.status == status
    for order in itertools.permutations(events):
        row = only(list(order))
        assert (row.status, row.error_code, row.error) == (said.status, said.code, said.reason)
