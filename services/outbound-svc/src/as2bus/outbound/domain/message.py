"""An outbound message and its life: each transition checks it is allowed from the current
state, changes the message, and returns the events that say so. Nothing here does I/O: the
use cases load a message through the unit of work, call one transition, and save the message
with the returned events in one transaction.

    queued ─claim─▶ sending ─2xx, no MDN asked──▶ delivered
                      │  ├─2xx, sync MDN──────────▶ delivered | delivered-with-warnings | failed
                      │  └─2xx, async MDN─▶ awaiting-mdn ─MDN─▶ (as above)
                      │                          └─deadline─▶ failed, or queued again
                      ├─retryable error─▶ retrying ─due─▶ sending …  (max attempts → failed)
                      ├─2xx, no receipt we can read─▶ retrying, the same way (then failed)
                      ├─clean stop──────▶ retrying, due at once (not counted)
                      └─lease ran out───▶ sending again (another replica's claim)

An MDN is judged by ``as2bus.contracts.judge_mdn``, the rule tracklog-svc and the CLI
apply too: a receipt that cannot prove delivery (unsigned when a signature was required, a
signature that does not verify, a MIC that is not ours) is a failure, never a quiet success.
A 2xx without a receipt we can read (not an MDN, or an MDN for another message) is no verdict
at all: the partner may have the document, so it is sent again with the same Message-ID (its
duplicate detection applies) like any retryable error, counted towards the attempts; the
failure that ends it says the partner may have the document (``receipt_unreadable``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple, cast

from as2bus.contracts import (
    AttemptStart,
    AttemptStarted,
    DocumentRef,
    MdnFacts,
    MdnReport,
    MdnSignature,
    MessageDelivered,
    MessageFailed,
    MessageRetrying,
    Retry,
    Verdict,
    judge_mdn,
)
from as2bus.outbound.domain import outcomes

Status = Literal[
    "queued",
    "sending",
    "retrying",
    "awaiting-mdn",
    "delivered",
    "delivered-with-warnings",
    "failed",
]
FINAL: frozenset[str] = frozenset({"delivered", "delivered-with-warnings", "failed"})
DUE: frozenset[str] = frozenset({"queued", "retrying"})


@dataclass(frozen=True)
class Backlog:
    """A partner's messages in one unsettled status, as the database holds them now:
    ``overdue`` of them await an async MDN past its deadline (``awaiting-mdn`` only)."""

    partner: str
    status: str
    messages: int
    overdue: int = 0


#: Where each state may go. ``sending`` → ``sending`` is another replica claiming a message
#: whose lease ran out (the replica that held it died mid-send).
_NEXT: dict[str, frozenset[str]] = {
    "queued": frozenset({"sending"}),
    "retrying": frozenset({"sending"}),
    "sending": frozenset({"sending", "retrying", "awaiting-mdn", *FINAL}),
    "awaiting-mdn": frozenset({"queued", *FINAL}),
    **{final: frozenset() for final in FINAL},
}

STOPPED = "outbound-svc stopped during the attempt; retried at once"
NO_MDN_IN_TIME = "no MDN by the deadline"
#: How the reason of an attempt whose receipt could not be read begins; the attempts in a row
#: that ended so are counted from it (the previous attempt's reason is ``last_error``).
RECEIPT_UNREADABLE = "the partner took the message but its receipt could not be read"
_IN_A_ROW = re.compile(re.escape(RECEIPT_UNREADABLE) + r" \((\d+) times in a row\)")


def new_message_id(station: str) -> str:
    """A Message-ID of ours: unique, and naming the station it is sent from (RFC 5322)."""
    host = "".join(c for c in station.lower() if c.isalnum()) or "station"
    return f"<{uuid.uuid4()}@{host}.as2bus>"


class IllegalTransitionError(RuntimeError):
    """A transition the message's state does not allow: a bug of ours, never a partner's."""


class Version(NamedTuple):
    """What a save must still find stored (optimistic concurrency): a replica whose lease ran
    out, and was taken over, finds another attempt number and cannot overwrite the outcome."""

    status: str
    attempts: int


@dataclass(eq=False)
class Message:
    """One send request's AS2 message: what to send, and its whole retry state."""

    id: uuid.UUID
    request_id: str
    request_sha256: str | None  # None in messages accepted before fingerprints were kept
    message_id: str
    station: str
    partner: str
    filename: str | None
    content_type: str
    subject: str
    #: The first document's object-store reference (JSON), or None when it is kept inline.
    document: dict[str, Any] | None
    #: Inline documents' bytes, one after the other (see domain/documents.py). Kept after the
    #: message is settled, for downloads and resends, until the document retention clears
    #: them (adapters/retention.py); no transition changes them.
    content: bytes | None
    attachments: list[dict[str, Any]] | None
    overrides: dict[str, Any] | None
    status: Status
    attempts: int
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None = None
    #: Attempts a clean stop interrupted and released: numbered, but not counted.
    stopped_attempts: int = 0
    lease_until: datetime | None = None
    mdn_mode: str | None = None
    mdn_deadline: datetime | None = None
    mic: str | None = None
    signed_mdn: bool = False
    #: What the attempt awaiting an async MDN asked for; None in messages from before it was
    #: kept (``signed_mdn`` then meant required).
    mdn_signature: MdnSignature | None = None
    last_error: str | None = None
    mdn_document: dict[str, Any] | None = None
    sent_document: dict[str, Any] | None = None
    document_deleted_at: datetime | None = None
    #: As last read or written by the repository; None for a message not stored yet.
    persisted: Version | None = field(default=None, compare=False, repr=False)

    @property
    def version(self) -> Version:
        return Version(self.status, self.attempts)

    @property
    def settled(self) -> bool:
        return self.status in FINAL

    def is_due(self, now: datetime) -> bool:
        """Waiting for an attempt whose time has come, or sending under a lease that ran out."""
        if self.status in DUE:
            return self.next_attempt_at is not None and self.next_attempt_at <= now
        return self.status == "sending" and self.lease_until is not None and self.lease_until < now

    def may_retry(self, max_attempts: int) -> bool:
        """Attempts a clean stop interrupted are not the partner's doing: they do not count."""
        return self.attempts - self.stopped_attempts < max_attempts

    # --- transitions ---------------------------------------------------------------------

    def claim(self, now: datetime, lease: timedelta) -> AttemptStarted:
        """The next attempt starts, under a lease this replica renews while it sends."""
        if not self.is_due(now):
            raise IllegalTransitionError(f"{self.message_id} is not due ({self.status})")
        self._move("sending", now)
        self.attempts += 1
        self.lease_until = now + lease
        started = AttemptStart(**self._names(), attempt=self.attempts, started_at=now)
        return AttemptStarted(correlation_id=self.message_id, occurred_at=now, data=started)

    def retry(
        self, reason: str, at: datetime, now: datetime, *, http_status: int | None = None
    ) -> MessageRetrying:
        """This attempt failed in a way a later one may not: try again ``at``.
        ``http_status``: the partner's answer, when it answered over HTTP."""
        return self._retrying(reason, at, now, http_status)

    def release(self, now: datetime) -> MessageRetrying:
        """A clean stop interrupted the attempt: due again at once, and not counted."""
        self.stopped_attempts += 1
        return self._retrying(STOPPED, now, now)

    def fail(
        self, code: str, reason: str, now: datetime, *, http_status: int | None = None
    ) -> MessageFailed:
        """``http_status``: the partner's answer to this attempt, when it answered over HTTP."""
        self._move("failed", now)
        self.last_error = reason
        return outcomes.failed(self, code, reason, http_status)

    def receipt_unreadable(
        self,
        detail: str,
        *,
        max_attempts: int,
        retry_at: datetime,
        now: datetime,
        http_status: int | None = None,
    ) -> MessageRetrying | MessageFailed:
        """The partner answered 2xx, but with no receipt we can read for this message (not an
        MDN, or one for another message): it may have the document, and no verdict can be
        had. Sent again ``retry_at`` with the same Message-ID while the attempts allow (the
        partner's duplicate detection applies), then failed with a reason that says the
        partner may have it. ``detail``: what was wrong with this answer; ``http_status``:
        its status."""
        run = self.unreadable_receipts_in_a_row() + 1
        if self.may_retry(max_attempts):
            times = f" ({run} times in a row)" if run > 1 else ""
            reason = f"{RECEIPT_UNREADABLE}{times}: {detail}; sent again with the same Message-ID"
            return self._retrying(reason, retry_at, now, http_status)
        counted = self.attempts - self.stopped_attempts
        if counted <= 1:
            taken = "the partner took the message"
        elif run >= counted:
            taken = (
                f"the partner took the message each time ({counted} attempts, the same Message-ID)"
            )
        else:
            last = "the last attempt" if run == 1 else f"the last {run} attempts"
            taken = f"the partner took the message on {last} of {counted} (the same Message-ID)"
        reason = (
            f"{taken} but its receipt could not be read, so it may have the document: ask the "
            f"partner before sending it again (last answer: {detail})"
        )
        return self.fail("mdn-unreadable", reason, now, http_status=http_status)

    def unreadable_receipts_in_a_row(self) -> int:
        """How many attempts in a row, up to the latest, ended in a receipt that could not be
        read (told by the latest one's reason)."""
        if self.last_error is None or not self.last_error.startswith(RECEIPT_UNREADABLE):
            return 0
        found = _IN_A_ROW.match(self.last_error)
        return int(found.group(1)) if found else 1

    def delivered_without_mdn(self, now: datetime) -> MessageDelivered:
        """No MDN was asked for: the partner's 2xx is the delivery."""
        self._move("delivered", now)
        return outcomes.delivered(self, Verdict("delivered"), None)

    def await_mdn(
        self, *, mic: str | None, signature: MdnSignature, deadline: datetime, now: datetime
    ) -> None:
        """The partner took the message and will send its MDN later, to our endpoint."""
        self._move("awaiting-mdn", now)
        self.mdn_mode = "async"
        self.mic = mic
        self.signed_mdn = signature != "none"
        self.mdn_signature = signature
        self.mdn_deadline = deadline

    def settle(
        self, verdict: Verdict, report: MdnReport, now: datetime, *, http_status: int | None = None
    ) -> MessageDelivered | MessageFailed:
        """The MDN's verdict ends the message: delivered, with warnings, or failed.
        ``http_status``: the status a sync MDN came with (an async one comes later, apart)."""
        if verdict.status == "failed":
            code, reason = verdict.code or "mdn-failed", verdict.reason or "failed"
            return self.fail(code, reason, now, http_status=http_status)
        if verdict.status not in ("delivered", "delivered-with-warnings"):
            raise ValueError(f"an MDN's verdict settles a message; got {verdict.status!r}")
        self._move(cast(Status, verdict.status), now)
        self.last_error = verdict.reason
        return outcomes.delivered(self, verdict, report)

    def judge(self, report: MdnReport, *, expected_mic: str | None = None) -> Verdict:
        """An async MDN's verdict, by what the attempt asked for (judged as tracklog-svc and
        the CLI judge it). ``expected_mic``: ours, when not the one kept at ``await_mdn``."""
        facts = MdnFacts(
            report.disposition, report.modifier, report.signed, report.signature_valid, report.mic
        )
        asked: MdnSignature = self.mdn_signature or ("required" if self.signed_mdn else "none")
        return judge_mdn(facts, signature=asked, expected_mic=expected_mic or self.mic)

    def mdn_overdue(self, now: datetime, *, resend: bool) -> MessageFailed | None:
        """No MDN came by the deadline: send again (the same Message-ID), or fail."""
        if resend:
            self._move("queued", now)
            self.next_attempt_at = now
            self.mdn_deadline = None
            return None
        return self.fail("mdn-deadline", NO_MDN_IN_TIME, now)

    def keep_mdn(self, raw: DocumentRef | None) -> None:
        """The partner's MDN as received: kept (and deleted) with the message's documents."""
        self.mdn_document = raw.model_dump(mode="json") if raw is not None else None

    def keep_as_sent(self, raw: DocumentRef | None) -> None:
        """The message as the partner took it, for the console's download."""
        self.sent_document = raw.model_dump(mode="json") if raw is not None else None

    # --- helpers ---------------------------------------------------------------------------

    def _retrying(
        self, reason: str, at: datetime, now: datetime, http_status: int | None = None
    ) -> MessageRetrying:
        self._move("retrying", now)
        self.next_attempt_at = at
        self.last_error = reason
        retry = Retry(
            **self._names(),
            attempt=self.attempts,
            reason=reason,
            next_attempt_at=at,
            http_status=http_status,
        )
        return MessageRetrying(correlation_id=self.message_id, occurred_at=now, data=retry)

    def _move(self, to: Status, now: datetime) -> None:
        if to not in _NEXT[self.status]:
            raise IllegalTransitionError(f"{self.message_id}: {self.status} → {to} is not a step")
        self.status = to
        self.updated_at = now
        if to != "sending":
            self.lease_until = None  # only an attempt in progress holds a lease

    def _names(self) -> dict[str, str]:
        return {
            "request_id": self.request_id,
            "message_id": self.message_id,
            "station": self.station,
            "partner": self.partner,
        }
