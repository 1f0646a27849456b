from datetime import timedelta

import pytest

from as2bus.outbound.domain import MdnFacts, backoff, judge_mdn, retryable_status

GOOD = MdnFacts(
    disposition="processed", modifier=None, signed=True, signature_valid=True, mic="abc="
)


@pytest.mark.parametrize(
    ("status", "retry"),
    [(500, True), (503, True), (429, True), (408, True), (400, False), (401, False), (404, False)],
)
def test_which_http_statuses_are_retried(status: int, retry: bool) -> None:
    assert retryable_status(status) is retry


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, 30, 200) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=200),
    ]


def test_a_good_signed_mdn_with_our_mic_is_delivery() -> None:
    verdict = judge_mdn(GOOD, expected_mic="abc=", signed_requested=True)
    assert (verdict.status, verdict.mic_matches) == ("delivered", True)


@pytest.mark.parametrize(
    ("mdn", "reason"),
    [
        (MdnFacts("processed", None, False, None, "abc="), "not signed"),
        (MdnFacts("processed", None, True, False, "abc="), "does not verify"),
        (MdnFacts("processed", None, True, True, None), "no Received-Content-MIC"),
        (MdnFacts("processed", None, True, True, "xyz="), "MIC mismatch"),
        (MdnFacts("failed", "decryption-failed", True, True, None), "decryption-failed"),
    ],
)
def test_failures_that_look_like_successes_are_failures(mdn: MdnFacts, reason: str) -> None:
    verdict = judge_mdn(mdn, expected_mic="abc=", signed_requested=True)
    assert verdict.status == "failed"
    assert reason in (verdict.reason or "")


def test_a_warning_is_delivery_with_the_warning() -> None:
    mdn = MdnFacts("processed/warning", "duplicate-document", True, True, "abc=")
    verdict = judge_mdn(mdn, expected_mic="abc=", signed_requested=True)
    assert (verdict.status, verdict.reason) == ("delivered-with-warnings", "duplicate-document")


def test_an_unsigned_mdn_is_fine_when_none_was_asked_for() -> None:
    mdn = MdnFacts("processed", None, False, None, None)
    assert judge_mdn(mdn, expected_mic=None, signed_requested=False).status == "delivered"
