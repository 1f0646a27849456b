"""The verdict rule outbound-svc, tracklog-svc and ``as2bus send`` share: every case."""

from __future__ import annotations

from typing import Any

import pytest

from as2bus.contracts import (
    Failure,
    MdnReceived,
    MdnReport,
    MessageFailed,
    MessageQueued,
    MessageRejected,
    MessageRetrying,
    MessageSent,
    OutboundMessage,
    Rejection,
    Retry,
    SendAttempt,
)
from as2bus.contracts.verdict import (
    MdnFacts,
    OutboundFacts,
    Problem,
    SentFacts,
    describe,
    judge_mdn,
    known,
    observe,
    outbound_verdict,
)

MIC = "abc="
GOOD = MdnFacts("processed", None, signed=True, signature_valid=True, mic=MIC)
UNSIGNED = MdnFacts("processed", None, signed=False, signature_valid=None, mic=MIC)
#: Its verdict when a signature was required: the partner reports it processed our content.
UNSIGNED_REQUIRED = (
    "the MDN is not signed, though our request required a signed MDN (the partner reports it "
    "processed the document, and the MIC matches)"
)


def mdn(**changes: Any) -> MdnFacts:
    return MdnFacts(**{**GOOD.__dict__, **changes})


@pytest.mark.parametrize("signature", ["required", "preferred", "none", None])
def test_a_good_signed_mdn_with_our_mic_is_delivery_whatever_we_asked(
    signature: Any,
) -> None:
    verdict = judge_mdn(GOOD, signature=signature, expected_mic=MIC)
    assert (verdict.status, verdict.code, verdict.reason, verdict.mic_matches) == (
        "delivered", None, None, True,
    )  # fmt: skip
    assert verdict.sentence == "delivered"


@pytest.mark.parametrize("signature", ["required", "preferred", "none", None])
@pytest.mark.parametrize("valid", [False, None])
def test_a_signature_that_is_there_but_does_not_verify_always_fails(
    signature: Any, valid: bool | None
) -> None:
    verdict = judge_mdn(mdn(signature_valid=valid), signature=signature, expected_mic=MIC)
    assert (verdict.status, verdict.code) == ("failed", "mdn-signature-invalid")
    assert verdict.sentence == (
        "failed: the MDN's signature does not verify with the partner's certificate"
    )


def test_an_unsigned_mdn_fails_when_a_signature_was_required() -> None:
    verdict = judge_mdn(UNSIGNED, signature="required", expected_mic=MIC)
    assert (verdict.status, verdict.code) == ("failed", "mdn-unsigned")
    assert verdict.sentence == f"failed: {UNSIGNED_REQUIRED}"


@pytest.mark.parametrize("mic", [None, "other="], ids=["no MIC", "another MIC"])
def test_an_unsigned_mdn_without_our_mic_does_not_say_the_partner_processed_it(
    mic: str | None,
) -> None:
    verdict = judge_mdn(mdn(signed=False, signature_valid=None, mic=mic), signature="required",
                        expected_mic=MIC)  # fmt: skip
    assert verdict.sentence == (
        "failed: the MDN is not signed, though our request required a signed MDN"
    )


def test_an_unsigned_mdn_is_delivery_with_a_warning_when_a_signature_was_preferred() -> None:
    verdict = judge_mdn(UNSIGNED, signature="preferred", expected_mic=MIC)
    assert (verdict.status, verdict.code, verdict.mic_matches) == (
        "delivered-with-warnings", "mdn-unsigned", True,
    )  # fmt: skip
    assert verdict.sentence == (
        "delivered with warnings: the MDN is not signed (a signed MDN was preferred, not required)"
    )


@pytest.mark.parametrize("mic", [MIC, None])
def test_an_unsigned_mdn_is_delivery_when_none_was_asked_for(mic: str | None) -> None:
    verdict = judge_mdn(mdn(signed=False, signature_valid=None, mic=mic), signature="none",
                        expected_mic=None)  # fmt: skip
    assert (verdict.status, verdict.code, verdict.reason) == ("delivered", None, None)


def test_events_older_than_the_setting_leave_an_unsigned_mdn_to_the_failure_event() -> None:
    """Before MessageSent said what was asked, outbound-svc's MessageFailed decided."""
    assert judge_mdn(UNSIGNED, signature=None, expected_mic=MIC).status == "delivered"


@pytest.mark.parametrize("signature", ["required", "preferred"])
def test_a_mic_that_is_not_ours_fails_signed_or_not(signature: Any) -> None:
    for facts in (mdn(mic="xyz="), mdn(mic="xyz=", signed=False, signature_valid=None)):
        verdict = judge_mdn(facts, signature=signature, expected_mic=MIC)
        if not facts.signed and signature == "required":
            assert verdict.code == "mdn-unsigned"
            continue
        assert (verdict.status, verdict.code, verdict.mic_matches) == (
            "failed", "mic-mismatch", False,
        )  # fmt: skip
        assert verdict.reason == f"MIC mismatch: the partner computed xyz=, we sent {MIC}"


def test_a_mismatch_the_mdns_reader_found_counts_when_the_expected_mic_is_unknown() -> None:
    verdict = judge_mdn(mdn(mic_matches=False), signature="required", expected_mic=None)
    assert (verdict.status, verdict.code) == ("failed", "mic-mismatch")
    # The MIC we computed, when known, is the authority over what a reader reported.
    assert judge_mdn(mdn(mic_matches=False), signature="required", expected_mic=MIC).status == (
        "delivered"
    )


def test_a_signed_mdn_without_the_mic_fails() -> None:
    verdict = judge_mdn(mdn(mic=None), signature="required", expected_mic=MIC)
    assert (verdict.status, verdict.code) == ("failed", "mdn-without-mic")


@pytest.mark.parametrize("signed", [True, False])
def test_a_negative_mdn_fails_with_the_partners_reason(signed: bool) -> None:
    facts = mdn(disposition="failed", modifier="decryption-failed", mic=None, signed=signed,
                signature_valid=True if signed else None)  # fmt: skip
    verdict = judge_mdn(facts, signature="required", expected_mic=MIC)
    assert (verdict.status, verdict.code) == ("failed", "mdn-failed")
    assert verdict.sentence == "failed: the partner reported a failure: decryption-failed"


def test_a_partners_warning_and_an_unsigned_preferred_mdn_are_both_told() -> None:
    warned = mdn(disposition="processed/warning", modifier="duplicate-document")
    verdict = judge_mdn(warned, signature="required", expected_mic=MIC)
    assert (verdict.status, verdict.code) == ("delivered-with-warnings", "partner-warning")
    assert verdict.reason == "the partner processed it with a warning: duplicate-document"
    both = judge_mdn(
        mdn(disposition="processed/warning", modifier="duplicate-document", signed=False,
            signature_valid=None),
        signature="preferred", expected_mic=MIC,
    )  # fmt: skip
    assert both.reason == (
        "the partner processed it with a warning: duplicate-document; "
        "the MDN is not signed (a signed MDN was preferred, not required)"
    )


SENT = SentFacts("sync", "required", MIC)


@pytest.mark.parametrize(
    ("facts", "status", "code", "reason"),
    [
        (OutboundFacts(), "queued", None, None),
        (OutboundFacts(retrying="HTTP 503"), "retrying", None, "HTTP 503"),
        (OutboundFacts(sent=SENT), "sent", None, None),
        (OutboundFacts(sent=SentFacts("async", "preferred", MIC)), "sent", None, None),
        (OutboundFacts(sent=SentFacts("none", "none", None)), "delivered", None, None),
        (OutboundFacts(sent=SENT, mdn=GOOD), "delivered", None, None),
        (OutboundFacts(sent=SENT, mdn=UNSIGNED), "failed", "mdn-unsigned", UNSIGNED_REQUIRED),
        (OutboundFacts(sent=SENT, mdn=GOOD, failure=Problem("mic-mismatch", "MIC mismatch: x")),
         "failed", "mic-mismatch", "MIC mismatch: x"),
        (OutboundFacts(failure=Problem(None, "CERT_HAS_EXPIRED: the partner's certificate")),
         "failed", "CERT_HAS_EXPIRED", "CERT_HAS_EXPIRED: the partner's certificate"),
        (OutboundFacts(failure=Problem(None, "x"), rejection=Problem("unknown-partner", "who?")),
         "rejected", "unknown-partner", "who?"),
        (OutboundFacts(sent=SENT, mdn=GOOD, retrying="later"), "delivered", None, None),
    ],
)  # fmt: skip
def test_the_precedence_of_a_messages_facts(
    facts: OutboundFacts, status: str, code: str | None, reason: str | None
) -> None:
    verdict = outbound_verdict(facts)
    assert (verdict.status, verdict.code, verdict.reason) == (status, code, reason)
    assert verdict.sentence == describe(status, reason)


IDS = {"request_id": "r1", "message_id": "<m1@myco>", "station": "MYCO", "partner": "acme"}


def _sent(mode: Any = "sync", signature: Any = "required") -> MessageSent:
    attempt = SendAttempt(**IDS, attempt=1, http_status=200, mdn_mode=mode, mic=MIC,
                          mdn_signature=signature)  # fmt: skip
    return MessageSent(data=attempt)


def _mdn(signed: bool = True, valid: bool | None = True, mode: Any = "sync") -> MdnReceived:
    report = MdnReport(original_message_id="<m1@myco>", station="MYCO", partner="acme",
                       disposition="processed", mic=MIC, signed=signed, signature_valid=valid,
                       mode=mode)  # fmt: skip
    return MdnReceived(data=report)


QUEUED = MessageQueued(data=OutboundMessage(**IDS, filename="a.edi", content_type="x", size=1))
RETRY = MessageRetrying(data=Retry(**IDS, attempt=1, reason="HTTP 503", next_attempt_at=0))
FAILED = MessageFailed(
    data=Failure(**IDS, attempts=1, reason=UNSIGNED_REQUIRED, code="mdn-unsigned")
)  # fmt: skip
REJECTED = MessageRejected(
    data=Rejection(direction="outbound", message_id=None, request_id="r1", station="MYCO",
                   partner="acme", modifier="unknown-trading-partner", reason="no partnership")
)  # fmt: skip


@pytest.mark.parametrize(
    ("events", "sentence", "final"),
    [
        ([QUEUED], "queued", False),
        ([QUEUED, RETRY], "retrying: HTTP 503", False),
        ([QUEUED, RETRY, _sent("none", "none")], "delivered", True),
        ([QUEUED, _sent()], "sent", False),
        ([QUEUED, _sent(), _mdn()], "delivered", True),
        ([QUEUED, _sent(), _mdn(valid=False)],
         "failed: the MDN's signature does not verify with the partner's certificate", True),
        ([QUEUED, _sent(), _mdn(signed=False, valid=None)], f"failed: {UNSIGNED_REQUIRED}", True),
        ([QUEUED, _sent(), _mdn(signed=False, valid=None), FAILED], f"failed: {UNSIGNED_REQUIRED}",
         True),
        ([QUEUED, _sent(signature="preferred"), _mdn(signed=False, valid=None)],
         "delivered with warnings: the MDN is not signed (a signed MDN was preferred, "
         "not required)", True),
        # An async MDN may overtake the MessageSent that says what we asked: not final yet.
        ([QUEUED, _mdn(signed=False, valid=None, mode="async")], "delivered", False),
        ([REJECTED], "rejected: no partnership", True),
    ],
)  # fmt: skip
def test_the_events_as_send_sees_them_give_the_verdict_and_say_when_it_is_final(
    events: list[Any], sentence: str, final: bool
) -> None:
    facts = OutboundFacts()
    for event in events:
        facts = observe(facts, event)
    verdict = outbound_verdict(facts)
    assert (verdict.sentence, known(facts, verdict)) == (sentence, final)
