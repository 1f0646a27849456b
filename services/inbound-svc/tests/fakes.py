"""In-memory fakes of the receive use case's ports (``as2bus.inbound.ports``), so that
``Receiver`` can be tested without NATS or a database.

Each behaves as its real adapter does, as far as the use case can tell: the contract tests
(``integration/test_ledger_contract.py``, ``integration/test_document_store_contract.py``) run
the same checks against fake and real, so the fakes cannot drift. On top, each lets a test see
what happened (``rows``, ``objects``, ``events``, ``queued``) and make things fail the way the
real ones do in an outage (``down``, ``refused``).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, TypeVar

import sqlalchemy as sa
from nats.errors import ConnectionClosedError
from nats.js.errors import ObjectNotFoundError

from as2bus import as2
from as2bus.contracts import (
    DOCUMENTS_BUCKET,
    DocumentRef,
    Event,
    MdnOutcome,
    PartnerState,
    StationState,
)
from as2bus.inbound.domain import NoPartnershipError
from as2bus.inbound.parties import Parties
from as2bus.inbound.ports import Claim, SeenSignature, SignatureClaim
from as2bus.shared.bus.documents import mdn_object_name, raw_http_message
from as2bus.shared.party_names import PartyCheck

E = TypeVar("E", bound=Event)


@dataclass
class LedgerRow:
    """One row of ``received_messages``, as ``adapters.ledger.Ledger`` keeps it."""

    station: str
    status: str  # "receiving", then "delivered"
    received_at: datetime
    document: str | None = None
    event_seq: int | None = None
    raw_document: str | None = None
    attachments: int = 0
    mdn_url: str | None = None


class FakeLedger:
    """``MessageLedger``: one row per (partner, Message-ID), as the real table's unique key.

    ``down``: every call fails as the real ledger's do with the database gone (SQLAlchemy's
    OperationalError), changing nothing; ``refused``: the calls ("claim", "delivered",
    "release") that fail so."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], LedgerRow] = {}
        self.down = False
        self.refused: set[str] = set()

    def row(self, partner: str, message_id: str) -> LedgerRow | None:
        return self.rows.get((partner, message_id))

    def _reach(self, call: str) -> None:
        if self.down or call in self.refused:
            raise sa.exc.OperationalError(
                f"{call} on received_messages", None, ConnectionRefusedError("database is down")
            )

    async def claim(
        self, partner: str, message_id: str, station: str, *, mdn_url: str | None = None
    ) -> tuple[Claim, datetime]:
        self._reach("claim")
        # No await in here: like the database's unique constraint, one of several concurrent
        # claims wins.
        row = self.rows.get((partner, message_id))
        if row is None:
            now = datetime.now(UTC)
            self.rows[partner, message_id] = LedgerRow(station, "receiving", now, mdn_url=mdn_url)
            return "new", now
        return ("duplicate" if row.status == "delivered" else "retry"), row.received_at

    async def mdn_url(self, partner: str, message_id: str) -> str | None:
        self._reach("mdn_url")
        row = self.rows.get((partner, message_id))
        return row.mdn_url if row is not None else None

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
        self._reach("delivered")
        row = self.rows.get((partner, message_id))
        if row is None:  # the real UPDATE finds no row and changes nothing
            return
        row.status, row.document, row.event_seq = "delivered", document, event_seq
        row.raw_document, row.attachments = raw_document, attachments

    async def release(self, partner: str, message_id: str) -> None:
        self._reach("release")
        self.rows.pop((partner, message_id), None)


@dataclass
class SeenRow:
    """One row of ``seen_signatures``, as ``adapters.seen_signatures.SeenSignatureTable``
    keeps it."""

    message_id: str
    status: str  # "receiving", then "accepted"
    signed_at: datetime | None
    claimed_at: datetime
    kept_until: datetime
    accepted_at: datetime | None = None


class FakeSeenSignatures:
    """``SeenSignatures``: one row per (partner, key), as the real table's unique key.
    ``down``: every call fails as the real one's do with the database gone."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], SeenRow] = {}
        self.down = False

    def _reach(self, call: str) -> None:
        if self.down:
            raise sa.exc.OperationalError(
                f"{call} on seen_signatures", None, ConnectionRefusedError("database is down")
            )

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
        self._reach("claim")
        row = self.rows.get((partner, key))  # no await in here: one concurrent claim wins
        if row is None:
            self.rows[partner, key] = SeenRow(message_id, "receiving", signed_at, now, kept_until)
            return SeenSignature("new", message_id, now)
        if row.message_id == message_id:
            return SeenSignature("new", message_id, row.claimed_at)
        held: SignatureClaim = "accepted" if row.status == "accepted" else "pending"
        return SeenSignature(held, row.message_id, row.claimed_at)

    async def accepted(self, partner: str, key: str, message_id: str, now: datetime) -> None:
        self._reach("accepted")
        row = self.rows.get((partner, key))
        if row is not None and row.message_id == message_id:
            row.status, row.accepted_at = "accepted", now

    async def release(self, partner: str, key: str, message_id: str) -> None:
        self._reach("release")
        row = self.rows.get((partner, key))
        if row is not None and row.message_id == message_id:
            del self.rows[partner, key]

    async def purge(self, now: datetime) -> int:
        self._reach("purge")
        over = [k for k, row in self.rows.items() if row.kept_until < now]
        for k in over:
            del self.rows[k]
        return len(over)


def document_ref(name: str, data: bytes) -> DocumentRef:
    """The reference a store answers for ``data`` kept as ``name``."""
    digest = hashlib.sha256(data).hexdigest()
    return DocumentRef(bucket=DOCUMENTS_BUCKET, name=name, size=len(data), sha256=digest)


class FakeDocumentStore:
    """``DocumentStorage``, and the reads of ``DocumentStore`` a test checks with.

    ``down``: every write fails as the real store's do with NATS gone (ConnectionClosedError;
    the ``keep_*`` records then are None). ``refused``: names whose writes fail that way.
    """

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.writes: list[str] = []  # every name stored, in order, repeats included
        self.down = False
        self.refused: set[str] = set()

    def _write(self, name: str, data: bytes) -> DocumentRef:
        if self.down or name in self.refused:
            raise ConnectionClosedError
        self.objects[name] = data
        self.writes.append(name)
        return document_ref(name, data)

    async def put(self, name: str, data: bytes) -> DocumentRef:
        await asyncio.sleep(0)  # as a real store waits for the server: other tasks run
        return self._write(name, data)

    async def put_file(self, name: str, file: BinaryIO, offset: int, size: int) -> DocumentRef:
        await asyncio.sleep(0)
        file.seek(offset)
        data = file.read(size)
        if len(data) < size:
            raise ValueError(f"the file ended {size - len(data)} bytes early")
        return self._write(name, data)

    async def keep_http_message(
        self, name: str, headers: list[tuple[str, str]], body: bytes | BinaryIO, *, what: str
    ) -> DocumentRef | None:
        if not isinstance(body, bytes):  # a body in a file: all of it, from its start
            body.seek(0)
            body = body.read()
        try:
            return self._write(name, raw_http_message(headers, body))
        except Exception:  # the real store logs it: a lost record never fails the exchange
            return None

    async def keep_mdn(
        self, original_message_id: str, headers: list[tuple[str, str]], body: bytes
    ) -> DocumentRef | None:
        name = mdn_object_name(original_message_id)
        return await self.keep_http_message(name, headers, body, what="the MDN")

    async def delete(self, name: str) -> bool:
        return self.objects.pop(name, None) is not None

    async def stored(self, name: str) -> tuple[int, str | None] | None:
        data = self.objects.get(name)
        return None if data is None else (len(data), hashlib.sha256(data).hexdigest())

    async def get(self, ref: DocumentRef) -> bytes:
        if ref.name not in self.objects:
            raise ObjectNotFoundError
        data = self.objects[ref.name]
        if document_ref(ref.name, data) != ref:
            raise ValueError(f"document {ref.name} does not match its size and sha256")
        return data


class FakeBus:
    """``Publish`` onto an events stream of its own: ``events`` in order, each call answered
    with the event's sequence (from 1). A repeat of an event id is dropped and answered with
    the first one's sequence, as JetStream does with ``Nats-Msg-Id``. ``down``: every publish
    fails as with NATS gone; ``refused``: event types whose publishing fails so."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.down = False
        self.refused: set[str] = set()

    async def __call__(self, event: Event) -> int:
        if self.down or event.event_type in self.refused:
            raise ConnectionClosedError
        for seq, seen in enumerate(self.events, 1):
            if seen.event_id == event.event_id:
                return seq
        self.events.append(event)
        return len(self.events)

    def of_type(self, event_type: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, event_type)]

    @property
    def types(self) -> list[str]:
        return [e.event_type for e in self.events]


@dataclass(frozen=True)
class QueuedMdn:
    outcome: MdnOutcome
    headers: dict[str, str]
    body: bytes


class FakeMdnQueue:
    """``MdnQueue``: what would be POSTed to partners, in order."""

    def __init__(self) -> None:
        self.queued: list[QueuedMdn] = []

    async def enqueue(self, outcome: MdnOutcome, headers: dict[str, str], body: bytes) -> None:
        self.queued.append(QueuedMdn(outcome, headers, body))


class FakePartyDirectory:
    """``PartyDirectory`` over given partnerships (each a ``Parties``), all enabled; its
    refusal says what the real resolver says of a partnership it does not know."""

    def __init__(self, *partnerships: Parties) -> None:
        self.partnerships = list(partnerships)

    async def resolve(self, as2_from: str, as2_to: str) -> Parties:
        for parties in self.partnerships:
            if (parties.partner.as2_id, parties.station.as2_id) == (as2_from, as2_to):
                return parties
        stations = [p.station.as2_id for p in self.partnerships]
        partners = [p.partner.as2_id for p in self.partnerships]
        raise NoPartnershipError(PartyCheck.of(as2_to, as2_from, stations, partners))

    async def signer_for(
        self, station_as2_id: str | None, partner_as2_id: str | None = None
    ) -> as2.LocalParty | None:
        for parties in self.partnerships:
            if parties.station.as2_id == station_as2_id:
                return as2.LocalParty(as2_id=parties.local.as2_id, signing=parties.local.signing)
        return None

    def partner_by_as2_id(self, as2_id: str) -> PartnerState | None:
        return next((p.partner for p in self.partnerships if p.partner.as2_id == as2_id), None)

    def partners(self) -> list[PartnerState]:
        return [p.partner for p in self.partnerships]

    def station_by_as2_id(self, as2_id: str) -> StationState | None:
        return next((p.station for p in self.partnerships if p.station.as2_id == as2_id), None)

    async def mdn_verify_certs(self, partner: PartnerState) -> list[bytes]:
        for parties in self.partnerships:
            if parties.partner.id == partner.id:
                return list(parties.remote.verify_certs)
        return []
