"""The outbound message's state machine (domain/message.py): each transition from each state
it is allowed from, the events it returns, and the ones it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from as2bus.contracts import (
    AttemptStarted,
    MdnReport,
    MessageDelivered,
    MessageFailed,
    MessageRetrying,
    Verdict,
)
from as2bus.outbound.domain import IllegalTransitionError, Message
from as2bus.outbound.domain.message import NO_MDN_IN_TIME, STOPPED

from .messages import LEASE, T0, in_state, queued

LATER = T0 + timedelta(seconds=30)


def report(message: Message, **changes: object) -> MdnReport:
    fields: dict[str, object] = {
        "original_message_id": message.message_id,
        "station": message.station,
        "partner": message.partner,
        "disposition": "processed",
        "mic": message.mic,
        "signed": True,
        "signature_valid": True,
        "mode": "async",
    }
    return MdnReport.model_validate(fields | changes)


def test_a_claim_starts_the_next_attempt_under_a_lease() -> None:
    message = queued()
    event = message.claim(T0, LEASE)
    assert (message.status, message.attempts, message.lease_until) == ("sending", 1, T0 + LEASE)
    assert isinstance(event, AttemptStarted)
    assert (event.data.attempt, event.data.started_at) == (1, T0)
    assert event.correlation_id == message.message_id


def test_a_message_not_due_yet_cannot_be_claimed() -> None:
    message = queued(next_attempt_at=LATER)
    assert not message.is_due(T0)
    with pytest.raises(IllegalTransitionError, match="not due"):
        message.claim(T0, LEASE)
    assert (message.status, message.attempts) == ("queued", 0)


def test_a_lease_that_ran_out_lets_another_replica_claim_the_message() -> None:
    message = in_state("sending", attempts=2, lease_until=T0)
    assert not message.is_due(T0)  # the lease holds up to its last instant
    assert message.is_due(LATER)
    message.claim(LATER, LEASE)
    assert (message.status, message.attempts) == ("sending", 3)


@pytest.mark.parametrize("status", ["awaiting-mdn", "delivered", "failed"])
def test_only_waiting_messages_are_due(status: str) -> None:
    message = in_state(status, next_attempt_at=T0)  # type: ignore[arg-type]
    assert not message.is_due(LATER)


def test_a_retry_waits_and_says_why() -> None:
    message = in_state("sending", attempts=2)
    event = message.retry("HTTP 503", LATER, T0)
    assert (message.status, message.next_attempt_at, message.last_error) == (
        "retrying",
        LATER,
        "HTTP 503",
    )
    assert message.lease_until is None
    assert isinstance(event, MessageRetrying)
    assert (event.data.attempt, event.data.reason, event.data.next_attempt_at) == (
        2,
        "HTTP 503",
        LATER,
    )


def test_a_released_attempt_is_due_at_once_and_does_not_count() -> None:
    message = in_state("sending", attempts=3)
    assert not message.may_retry(3)
    event = message.release(T0)
    assert (message.status, message.next_attempt_at, message.stopped_attempts) == (
        "retrying",
        T0,
        1,
    )
    assert event.data.reason == STOPPED
    assert message.may_retry(3)  # 3 attempts, one stopped: 2 counted


def test_failing_keeps_the_document_kept_inline_for_a_resend() -> None:
    """It dropped it: a failed small document could then neither be downloaded nor resent
    (the retention clears it later, adapters/retention.py)."""
    message = in_state("sending")
    event = message.fail("partner-refused", "HTTP 400: bad request", T0)
    assert (message.status, message.content, message.last_error) == (
        "failed",
        b"ISA*00~",
        "HTTP 400: bad request",
    )
    assert isinstance(event, MessageFailed)
    assert (event.data.code, event.data.reason, event.data.attempts) == (
        "partner-refused",
        "HTTP 400: bad request",
        1,
    )


def test_a_2xx_without_an_mdn_asked_for_is_the_delivery() -> None:
    message = in_state("sending")
    event = message.delivered_without_mdn(T0)
    assert (message.status, message.content) == ("delivered", b"ISA*00~")  # for downloads
    assert isinstance(event, MessageDelivered)
    assert (event.data.status, event.data.mdn) == ("delivered", None)


def test_awaiting_an_async_mdn_keeps_what_it_will_be_judged_by() -> None:
    message = in_state("sending")
    message.await_mdn(mic="abc=, sha256", signature="preferred", deadline=LATER, now=T0)
    assert (message.status, message.mdn_mode, message.mic, message.mdn_deadline) == (
        "awaiting-mdn",
        "async",
        "abc=, sha256",
        LATER,
    )
    assert (message.mdn_signature, message.signed_mdn, message.lease_until) == (
        "preferred",
        True,
        None,
    )
    assert message.content is not None  # a resend after the deadline needs it


def test_a_good_async_mdn_delivers_the_message() -> None:
    message = in_state("awaiting-mdn")
    mdn = report(message)
    verdict = message.judge(mdn)
    event = message.settle(verdict, mdn, T0)
    assert (message.status, message.content) == ("delivered", b"ISA*00~")  # for downloads
    assert isinstance(event, MessageDelivered)
    assert event.data.mdn is not None
    assert event.data.mdn.mic_matches is True


def test_an_mdn_for_another_mic_fails_the_message() -> None:
    message = in_state("awaiting-mdn")
    mdn = report(message, mic="not=, sha256")
    event = message.settle(message.judge(mdn), mdn, T0)
    assert message.status == "failed"
    assert isinstance(event, MessageFailed)
    assert "MIC" in event.data.reason


def test_an_unsigned_mdn_fails_when_a_signature_was_required_also_for_old_messages() -> None:
    # Messages from before mdn_signature was kept only know whether one was asked for.
    message = in_state("awaiting-mdn", mdn_signature=None)
    message.mdn_signature = None
    mdn = report(message, signed=False, signature_valid=None)
    assert message.judge(mdn).status == "failed"
    message.signed_mdn = False
    assert message.judge(mdn).status == "delivered"


def test_an_overdue_mdn_queues_the_message_again_or_fails_it() -> None:
    resent = in_state("awaiting-mdn")
    assert resent.mdn_overdue(T0, resend=True) is None
    assert (resent.status, resent.next_attempt_at, resent.mdn_deadline) == ("queued", T0, None)
    assert resent.is_due(T0)
    failed = in_state("awaiting-mdn")
    event = failed.mdn_overdue(T0, resend=False)
    assert event is not None
    assert event.data.code == "mdn-deadline"
    assert (failed.status, failed.last_error) == ("failed", NO_MDN_IN_TIME)


@pytest.mark.parametrize("final", ["delivered", "delivered-with-warnings", "failed"])
def test_a_settled_message_takes_no_step(final: str) -> None:
    message = in_state(final)  # type: ignore[arg-type]
    with pytest.raises(IllegalTransitionError):
        message.retry("late", LATER, T0)
    with pytest.raises(IllegalTransitionError):
        message.fail("late", "late", T0)
    with pytest.raises(IllegalTransitionError):
        message.settle(Verdict("delivered"), report(message), T0)
    assert message.status == final


def test_a_message_awaiting_its_mdn_is_not_retried_nor_sent_again_by_a_claim() -> None:
    message = in_state("awaiting-mdn")
    with pytest.raises(IllegalTransitionError):
        message.retry("?", LATER, T0)
    with pytest.raises(IllegalTransitionError):
        message.claim(LATER + timedelta(days=1), LEASE)


def test_the_version_is_what_a_save_compares() -> None:
    message = queued()
    message.persisted = message.version
    message.claim(T0, LEASE)
    assert message.persisted == ("queued", 0)
    assert message.version == ("sending", 1)
