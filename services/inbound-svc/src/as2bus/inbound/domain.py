"""Rules of receiving, with no I/O: event identity, answers, what counts as which outcome."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from as2bus.as2 import As2Error, UnknownPartyError
from as2bus.as2.model import shown_reason
from as2bus.contracts.messages import (
    DocumentRef,
    Duplicate,
    MessageDuplicate,
    MessageReceived,
    MessageRejected,
    ReceivedAttachment,
    ReceivedDocument,
    Rejection,
)
from as2bus.shared.crypto import certificate_fingerprint
from as2bus.shared.party_names import PartyCheck

if TYPE_CHECKING:
    from as2bus.as2 import ReceivedMessage, RequestSummary

#: What a 503 asks a partner to wait before sending again (storage or the bus unavailable).
RETRY_AFTER_SECONDS = 60

_NAMESPACE = uuid.UUID("5d0c2f8e-7b1e-4f35-9a53-0b3c1c9e2a10")


def received_event_id(partner: str, message_id: str) -> uuid.UUID:
    """MessageReceived's id is a function of (partner, Message-ID): a message processed again
    after a crash publishes the same event, which JetStream and consumers drop as a repeat."""
    return uuid.uuid5(_NAMESPACE, f"received\n{partner}\n{message_id}")


def document_name(partner: str, message_id: str) -> str:
    """Object-store name: stable for a (partner, Message-ID), safe for any characters."""
    return f"in/{received_event_id(partner, message_id)}"


def attachment_name(document: str, index: int) -> str:
    """Where a message's ``index``-th document after the first (1, 2, ...) is kept, beside the
    first (``document``): stable, so a message processed again after a crash overwrites its
    objects rather than adding more."""
    if index < 1:
        raise ValueError(f"attachments are numbered from 1, not {index}")
    return f"{document}/attachment-{index}"


def as_received_name(document: str) -> str:
    """Where the message as received is kept, beside its document."""
    return f"{document}/as-received"


def received(
    message: ReceivedMessage,
    station: str,
    partner: str,
    headers: Mapping[str, str],
    first: datetime,
    document: DocumentRef,
    raw: DocumentRef | None,
    attachments: list[ReceivedAttachment],
) -> MessageReceived:
    """The event of a delivered message, its documents stored (first received at ``first``;
    ``raw`` the copy as received, if kept)."""
    verified_by = message.verified_by
    return MessageReceived(
        event_id=received_event_id(partner, message.message_id),
        correlation_id=message.message_id,
        data=ReceivedDocument(
            message_id=message.message_id,
            station=station,
            partner=partner,
            filename=message.filename,
            content_type=message.content_type,
            subject=message.subject,
            document=document,
            signed=message.signed,
            encrypted=message.encrypted,
            compressed=message.compressed,
            mic=message.mic,
            mic_alg=message.mic_alg,
            received_at=first,
            headers=recorded_headers(headers),
            signed_with=certificate_fingerprint(verified_by) if verified_by else None,
            raw=raw,
            attachments=attachments,
        ),
    )


@dataclass(frozen=True)
class Answer:
    """The HTTP response to a partner's POST."""

    status_code: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def text(status_code: int, reason: str) -> Answer:
        return Answer(status_code, reason.encode() + b"\n", {"Content-Type": "text/plain"})


@dataclass(frozen=True)
class ReplayWindow:
    """Replay protection's times: a signing time may be ``window`` old at most, and ``skew``
    ahead of our clock at most (the partner's clock may run fast)."""

    window: timedelta
    skew: timedelta

    def refusal(self, signed_at: datetime | None, now: datetime) -> tuple[str, str] | None:
        """(metric reason, sentence) when ``signed_at`` is outside the window; None inside,
        or without a signing time (nothing to judge: such signatures are only deduplicated)."""
        if signed_at is None:
            return None
        if signed_at < now - self.window:
            return "signing-time-too-old", (
                f"the signing time {stamp(signed_at)} is outside the replay window: more than "
                f"{span(self.window)} before our time {stamp(now)}; sign the message again"
            )
        if signed_at > now + self.skew:
            return "signing-time-in-future", (
                f"the signing time {stamp(signed_at)} is outside the replay window: more than "
                f"{span(self.skew)} after our time {stamp(now)}; check the sender's clock"
            )
        return None

    def kept_until(self, signed_at: datetime | None, now: datetime) -> datetime:
        """How long a signature accepted ``now`` is remembered: until its signing time falls
        out of the window anyway (with the skew as a margin); without a signing time, a
        window from now."""
        return (signed_at or now) + self.window + self.skew


def stamp(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def span(length: timedelta) -> str:
    """A duration as people say it: "48 hours", "15 minutes", "90 seconds"."""
    seconds = int(length.total_seconds())
    for unit, size in (("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} seconds"


def send_again(what: str) -> Answer:
    """A 503 asking the partner to send again later: ``what`` could not be done just now."""
    return Answer(
        503,
        f"{what} just now; please send it again later\n".encode(),
        {"Content-Type": "text/plain", "Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def shown_url(url: str | None) -> str:
    """A URL a sender named, fit for a log or an answer: without user info, query or
    fragment (where credentials travel)."""
    try:
        parts = urlsplit(url or "")
    except ValueError:  # e.g. a bad IPv6 literal
        parts = urlsplit("")
    if not (parts.scheme and parts.netloc):
        return "the URL it named"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


#: The longest AS2 name (RFC 4130 §6.2): a longer AS2-From or AS2-To is nobody's.
AS2_NAME_LIMIT = 128


def shown_name(name: str) -> str:
    """An AS2 name a sender gave, fit for an answer or a log: cut after 128 characters
    (someone sent 10 KB of one), saying how long it was."""
    if len(name) <= AS2_NAME_LIMIT:
        return name
    return f"{name[:AS2_NAME_LIMIT]}... ({len(name)} characters in all)"


#: Request headers never recorded: credentials a partner (or a proxy) may send along.
_UNRECORDED = {"authorization", "proxy-authorization", "cookie", "x-api-key"}


def recorded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _UNRECORDED}


class NoPartnershipError(UnknownPartyError):
    """No partnership for a message's AS2-To and AS2-From. The partner is told only that: which
    of our AS2 IDs exist would let anyone who posts to us probe for our stations and partners.
    ``diagnosis``, for our operators, says which of the two we do not know (and the one meant,
    when only the case differs)."""

    def __init__(self, check: PartyCheck) -> None:
        check = dataclasses.replace(
            check, station=shown_name(check.station), partner=shown_name(check.partner)
        )
        super().__init__(
            f"no partnership between station {check.station!r} and partner {check.partner!r}"
        )
        self.diagnosis = shown_reason(check.reason())


def operators_reason(error: As2Error) -> str:
    """Why a message was refused, as the track log shows it to our operators."""
    return error.diagnosis if isinstance(error, NoPartnershipError) else error.reason


def rejected(summary: RequestSummary, modifier: str, reason: str) -> MessageRejected:
    """A message refused before anything was delivered, as the bus hears of it."""
    return MessageRejected(
        correlation_id=summary.message_id,
        data=Rejection(
            direction="inbound",
            message_id=summary.message_id,
            station=summary.as2_to,
            partner=summary.as2_from,
            modifier=modifier,
            code=modifier,
            reason=reason,
        ),
    )


def duplicate(
    message_id: str, station: str, partner: str, first: datetime, reason: str | None = None
) -> MessageDuplicate:
    """A message not delivered again: a resend of its Message-ID, or (``reason``) a replay."""
    return MessageDuplicate(
        correlation_id=message_id,
        data=Duplicate(
            message_id=message_id,
            station=station,
            partner=partner,
            first_received_at=first,
            reason=reason,
        ),
    )
