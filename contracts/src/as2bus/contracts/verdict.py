"""What became of an outbound message, from the facts its events carry: one pure function.

outbound-svc judges its partner's MDN with ``judge_mdn`` (and publishes a MessageFailed with
that verdict's code and reason when it fails), tracklog-svc derives a message's status with
``outbound_verdict`` from the facts it merged, and ``as2bus send`` folds the events it sees
into the same facts (``observe``) and prints the same ``Verdict.sentence``. So the sender, the
track log and the CLI cannot disagree about a message.

Precedence: rejected > failed > the MDN's verdict > the latest attempt (sending while it is in
progress, retrying, or sent: delivered when no MDN was asked for) > queued. An attempt in
progress is never settled: whatever that attempt ends in comes later and wins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from as2bus.contracts.config import MdnSignature
from as2bus.contracts.envelope import Event
from as2bus.contracts.messages import MdnReceived, MessageRejected
from as2bus.contracts.outbound import (
    AttemptStarted,
    MessageFailed,
    MessageRetrying,
    MessageSent,
)

OutboundStatus = Literal[
    "queued", "sending", "sent", "retrying", "delivered", "delivered-with-warnings", "failed",
    "rejected",
]  # fmt: skip
#: Statuses nothing changes any more (an MDN, a failure or a refusal settled them).
SETTLED: frozenset[str] = frozenset({"delivered", "delivered-with-warnings", "failed", "rejected"})


@dataclass(frozen=True)
class Verdict:
    status: OutboundStatus
    code: str | None = None  # a machine code for a failure or a warning
    reason: str | None = None  # the sentence a person reads beside the code
    mic_matches: bool | None = None  # None when no MIC was compared

    @property
    def settled(self) -> bool:
        return self.status in SETTLED

    @property
    def sentence(self) -> str:
        """``delivered``, ``delivered with warnings: <reason>``, ``failed: <reason>`` ..."""
        return describe(self.status, self.reason)


def describe(status: str, reason: str | None) -> str:
    """A status and its reason as one line (also for a row tracklog-svc returns)."""
    label = status.replace("-", " ")
    return f"{label}: {reason}" if reason else label


@dataclass(frozen=True)
class MdnFacts:
    """What a partner's MDN said and how it was signed."""

    disposition: str  # processed | processed/warning | failed
    modifier: str | None
    signed: bool
    signature_valid: bool | None  # None: signed but not verified, or unsigned
    mic: str | None  # Received-Content-MIC (base64 digest)
    #: What the reader of the MDN found when it could compare (outbound-svc, sync MDNs);
    #: used when the expected MIC is not known here.
    mic_matches: bool | None = None


def judge_mdn(
    mdn: MdnFacts, *, signature: MdnSignature | None, expected_mic: str | None
) -> Verdict:
    """An MDN's verdict given the signature we asked for (None: not known, from events older
    than the setting) and the MIC we computed (None: none expected).

    A signature that is there must verify; a receipt whose MIC is not ours proves nothing; an
    unsigned MDN fails when a signature was required and is a warning when one was preferred.
    """
    matches = mdn.mic == expected_mic if expected_mic and mdn.mic else mdn.mic_matches

    def failed(code: str, reason: str) -> Verdict:
        return Verdict("failed", code, reason, matches)

    if mdn.signed and mdn.signature_valid is not True:
        return failed(
            "mdn-signature-invalid",
            "the MDN's signature does not verify with the partner's certificate",
        )
    if mdn.disposition == "failed":
        return failed("mdn-failed", f"the partner reported a failure: {mdn.modifier or 'failed'}")
    if not mdn.signed and signature == "required":
        reason = "the MDN is not signed, though our request required a signed MDN"
        if matches is True:  # not proof, but a resend would most likely deliver it twice
            reason += " (the partner reports it processed the document, and the MIC matches)"
        return failed("mdn-unsigned", reason)
    if mdn.signed and expected_mic is not None and mdn.mic is None:
        return failed("mdn-without-mic", "the signed MDN carries no Received-Content-MIC")
    if matches is False:
        return failed(
            "mic-mismatch",
            f"MIC mismatch: the partner computed {mdn.mic}, we sent {expected_mic or 'another'}",
        )
    warnings: list[tuple[str, str]] = []
    if mdn.disposition == "processed/warning":
        warning = mdn.modifier or "no detail given"
        warnings.append(("partner-warning", f"the partner processed it with a warning: {warning}"))
    if not mdn.signed and signature == "preferred":
        warnings.append(
            ("mdn-unsigned", "the MDN is not signed (a signed MDN was preferred, not required)")
        )
    if warnings:
        reason = "; ".join(text for _code, text in warnings)
        return Verdict("delivered-with-warnings", warnings[0][0], reason, matches)
    return Verdict("delivered", None, None, matches)


@dataclass(frozen=True)
class Problem:
    """A failure or a refusal: its code (None: the reason's first words) and its reason."""

    code: str | None
    reason: str

    def coded(self) -> str:
        return self.code or self.reason.split(":")[0][:80]


@dataclass(frozen=True)
class SentFacts:
    """What the latest accepted attempt asked for (from MessageSent)."""

    mdn_mode: str  # sync | async | none
    mdn_signature: MdnSignature | None
    mic: str | None  # the MIC the MDN must report


@dataclass(frozen=True)
class OutboundFacts:
    rejection: Problem | None = None
    failure: Problem | None = None
    mdn: MdnFacts | None = None
    sent: SentFacts | None = None
    #: The latest attempt failed and will be retried: why (None when it did not).
    retrying: str | None = None
    #: The number of the attempt in progress (None when the latest attempt has ended).
    sending: int | None = None


def outbound_verdict(facts: OutboundFacts) -> Verdict:
    if facts.rejection is not None:
        return Verdict("rejected", facts.rejection.coded(), facts.rejection.reason)
    if facts.failure is not None:
        return Verdict("failed", facts.failure.coded(), facts.failure.reason)
    sent = facts.sent
    if facts.mdn is not None:
        return judge_mdn(
            facts.mdn,
            signature=sent.mdn_signature if sent else None,
            expected_mic=sent.mic if sent else None,
        )
    if facts.sending is not None:
        return Verdict("sending", None, f"attempt {facts.sending} in progress")
    if facts.retrying is not None:
        return Verdict("retrying", None, facts.retrying)
    if sent is not None:
        # No MDN asked for: the partner's HTTP 2xx is the delivery (outbound-svc says so too).
        return Verdict("delivered" if sent.mdn_mode == "none" else "sent")
    return Verdict("queued")


def observe(facts: OutboundFacts, event: Event) -> OutboundFacts:
    """One more event of the message, seen in the order it was published (``as2bus send``).
    tracklog-svc merges facts so that any order gives the same row; see its merge module."""
    match event:
        case AttemptStarted(data=d):
            return replace(facts, sending=d.attempt, retrying=None)
        case MessageSent(data=d):
            sent = SentFacts(d.mdn_mode, d.mdn_signature, d.mic)
            return replace(facts, sent=sent, retrying=None, sending=None)
        case MessageRetrying(data=d):
            return replace(facts, retrying=d.reason, sending=None)
        case MessageFailed(data=d):
            return replace(facts, failure=Problem(d.code, d.reason))
        case MessageRejected(data=d):
            return replace(facts, rejection=Problem(d.modifier, d.reason))
        case MdnReceived(data=d):
            mdn = MdnFacts(d.disposition, d.modifier, d.signed, d.signature_valid, d.mic,
                           d.mic_matches)  # fmt: skip
            return replace(facts, mdn=mdn)
    return facts


def known(facts: OutboundFacts, verdict: Verdict) -> bool:
    """Whether the verdict is final: settled, and for an MDN's delivery, the attempt it
    answers is known (an async MDN can overtake its MessageSent, which says what we asked)."""
    if not verdict.settled:
        return False
    return verdict.status in ("failed", "rejected") or facts.sent is not None
