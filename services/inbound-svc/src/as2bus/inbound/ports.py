"""What the use cases (``service.Receiver``, ``mdn_receipt.MdnReceiver``) need from the world,
as protocols.

Each is the part of a real adapter the use cases call, no more: the adapters satisfy them
structurally (mypy checks it where bootstrap.py wires them in), and tests hand the use cases the
in-memory fakes of ``tests/fakes.py`` instead, whose behaviour the contract tests in
``tests/integration`` hold to the adapters'.

    MessageLedger   adapters.ledger.Ledger                  claims a (partner, Message-ID)
    DocumentStorage shared.bus.documents.DocumentStore      documents and records, by name
    MdnQueue        adapters.mdn_delivery.MdnDelivery       async MDNs to POST later
    PartyDirectory  parties.PartyResolver                   who a message is between
    SeenSignatures  adapters.seen_signatures.SeenSignatureTable  signatures accepted (replays)
    Publish         bootstrap.py's publish                  an event onto the bus
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Literal, Protocol

from as2bus import as2
from as2bus.contracts import DocumentRef, Event, MdnOutcome, PartnerState, StationState
from as2bus.inbound.parties import Parties

#: ``new``: first seen, deliver it; ``retry``: claimed before but never delivered (a crash
#: in between, or a concurrent identical POST), deliver it again under the same event id;
#: ``duplicate``: delivered already, only answer.
Claim = Literal["new", "retry", "duplicate"]

#: Publishes an event; what it returns may be the event's sequence in the events stream (an
#: ``int``), which the ledger records for the retention; anything else means "not known".
Publish = Callable[[Event], Awaitable[Any]]


class MessageLedger(Protocol):
    """The received Message-IDs, per partner: what makes delivery happen once."""

    async def claim(
        self, partner: str, message_id: str, station: str, *, mdn_url: str | None = None
    ) -> tuple[Claim, datetime]:
        """Take a Message-ID for delivery; with it, when it was first claimed. A first claim
        records ``mdn_url``, where the message asked its async MDN to go."""
        ...

    async def mdn_url(self, partner: str, message_id: str) -> str | None:
        """The async MDN URL the Message-ID's first claim recorded (None: none)."""
        ...

    async def delivered(
        self,
        partner: str,
        message_id: str,
        document: str,
        event_seq: int | None = None,
        raw_document: str | None = None,
        *,
        attachments: int = 0,
    ) -> None:
        """MessageReceived is on the bus: from now on the Message-ID is a duplicate."""
        ...

    async def release(self, partner: str, message_id: str) -> None:
        """Forget the claim: the partner's resend is processed as if first seen."""
        ...


#: ``new``: not seen, or seen under this same Message-ID (a resend after a crash): now held
#: for it, deliver; ``accepted``: delivered already under another Message-ID (a replay);
#: ``pending``: held by another Message-ID still being delivered (or whose replica stopped
#: before it was: its resend will settle it).
SignatureClaim = Literal["new", "accepted", "pending"]


@dataclass(frozen=True)
class SeenSignature:
    """Who holds a signature: the answer to ``SeenSignatures.claim``."""

    claim: SignatureClaim
    message_id: str  # the Message-ID it is held for (the claimant's own when ``new``)
    claimed_at: datetime  # when that Message-ID claimed it


class SeenSignatures(Protocol):
    """The signatures (``as2.ReceivedMessage.signature_key``) of messages accepted from each
    partner with replay protection, remembered until their signing time is out of the window.
    One holder per (partner, key), like a unique key: of two copies at once, one is new."""

    async def claim(
        self,
        partner: str,
        key: str,
        message_id: str,
        *,
        signed_at: datetime | None,
        now: datetime,
        kept_until: datetime,
    ) -> SeenSignature:
        """Hold the signature for ``message_id`` unless another Message-ID holds it."""
        ...

    async def accepted(self, partner: str, key: str, message_id: str, now: datetime) -> None:
        """The message holding it is delivered: from now on a copy is a duplicate."""
        ...

    async def release(self, partner: str, key: str, message_id: str) -> None:
        """Delivery failed (or the message was not delivered): forget ``message_id``'s hold."""
        ...

    async def purge(self, now: datetime) -> int:
        """Forget the signatures kept until before ``now``; how many."""
        ...


class DocumentStorage(Protocol):
    """Where documents and the records of what partners sent are kept, by name."""

    async def put(self, name: str, data: bytes) -> DocumentRef:
        """Store ``data`` under ``name`` (replacing what was there); raises when it cannot."""
        ...

    async def put_file(self, name: str, file: BinaryIO, offset: int, size: int) -> DocumentRef:
        """Store ``size`` bytes of ``file`` from ``offset``; raises when it cannot."""
        ...

    async def keep_http_message(
        self, name: str, headers: list[tuple[str, str]], body: bytes | BinaryIO, *, what: str
    ) -> DocumentRef | None:
        """Keep an HTTP message as it came; None, never an error, when it cannot."""
        ...

    async def keep_mdn(
        self, original_message_id: str, headers: list[tuple[str, str]], body: bytes
    ) -> DocumentRef | None:
        """Keep a partner's MDN as it came; None, never an error, when it cannot."""
        ...

    async def delete(self, name: str) -> bool:
        """Delete what is stored under ``name``; False when there was nothing."""
        ...


class MdnQueue(Protocol):
    """Async MDNs, kept until they are POSTed to the partner's URL."""

    async def enqueue(self, outcome: MdnOutcome, headers: dict[str, str], body: bytes) -> None:
        """Keep the MDN to send; ``outcome.url`` is where it goes."""
        ...


class PartyDirectory(Protocol):
    """Who a message is between, and with which keys."""

    async def resolve(self, as2_from: str, as2_to: str) -> Parties:
        """The partnership's parties; raises ``as2.UnknownPartyError`` saying why there is
        none to speak of (unknown, incomplete, disabled)."""
        ...

    async def signer_for(
        self, station_as2_id: str | None, partner_as2_id: str | None = None
    ) -> as2.LocalParty | None:
        """Our party for signing a negative MDN when no partnership could be resolved."""
        ...

    def partner_by_as2_id(self, as2_id: str) -> PartnerState | None: ...

    def partners(self) -> Iterable[PartnerState]:
        """Every partner, as configured now (whose TLS client certificates is this?)."""
        ...

    def station_by_as2_id(self, as2_id: str) -> StationState | None: ...

    async def mdn_verify_certs(self, partner: PartnerState) -> list[bytes]:
        """The certificates (PEM) that may verify this partner's MDNs."""
        ...
