"""A document that cannot be stored is answered 503 (the sender retries), never a negative
MDN (senders take that as final); the resend is then delivered. Real ledger, both databases."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus import as2
from as2bus.contracts import DocumentRef, Event
from as2bus.inbound.adapters.ledger import Ledger
from as2bus.inbound.adapters.seen_signatures import SeenSignatureTable
from as2bus.inbound.adapters.tables import received_messages
from as2bus.inbound.domain import RETRY_AFTER_SECONDS
from as2bus.inbound.parties import Parties
from as2bus.inbound.replay_protection import ReplayProtection
from as2bus.inbound.service import Receiver
from as2bus.testing.config_states import partner_state, station_state

from ..unit.receiving import WINDOW

STATION = station_state("MYCO", name="Me")
PARTNER = partner_state("ACME", name="Acme", as2_alias="acme", as2_url="http://x/as2")
#: Plain on both sides: what is tested here is the answer, not the crypto.
PARTIES = Parties(
    STATION,
    PARTNER,
    as2.LocalParty(as2_id="MYCO", signing=None),
    as2.RemoteParty(as2_id="ACME", require_signed=False, require_encrypted=False),
)


class Resolver:
    async def resolve(self, _from: str, _to: str) -> Parties:
        return PARTIES


class StoreDownOnce:
    """The object store fails the first time, as NATS does while it restarts."""

    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}
        self.failures = 0

    async def put(self, name: str, data: bytes) -> DocumentRef:
        if not self.failures:
            self.failures += 1
            raise ConnectionError("nats: connection closed")
        self.stored[name] = data
        return DocumentRef(bucket="as2_documents", name=name, size=len(data), sha256="0" * 64)

    async def keep_http_message(
        self, name: str, headers: list[tuple[str, str]], body: bytes, *, what: str
    ) -> DocumentRef | None:
        return await self.put(name, body)


async def test_a_store_failure_is_a_503_and_the_resend_is_delivered(
    sessions: async_sessionmaker[AsyncSession], ledger_sessions: async_sessionmaker[AsyncSession]
) -> None:
    store, published = StoreDownOnce(), []

    async def publish(event: Event) -> None:
        published.append(event)

    receiver = Receiver(
        Resolver(),  # type: ignore[arg-type]
        Ledger(ledger_sessions),
        store,  # type: ignore[arg-type]
        mdns=None,  # type: ignore[arg-type]  # never used: async MDNs only
        publish=publish,
        replays=ReplayProtection(SeenSignatureTable(ledger_sessions), WINDOW),
        max_payload_bytes=1024 * 1024,
    )
    sender = as2.LocalParty(as2_id="ACME", signing=None)
    to_us = as2.RemoteParty(as2_id="MYCO", signing=None, encryption=None, mdn_signing=None)
    message = as2.build_message(b"ISA*00~\r\n", sender=sender, receiver=to_us, filename="a.x12")

    first = await receiver.receive(message.headers, message.body)
    assert first.status_code == 503
    assert first.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert b"please send it again later" in first.body
    assert published == []  # nothing delivered, no MDN, no rejection
    async with sessions() as session:
        rows: list[Any] = list((await session.execute(sa.select(received_messages))).all())
    assert rows == []  # the claim was released: the resend is not a duplicate

    again = await receiver.receive(message.headers, message.body)
    assert again.status_code == 200
    mdn = as2.parse_mdn(again.headers, again.body, verify_certs=[])
    assert mdn.disposition == "processed"
    document, as_received = store.stored.values()  # the document and the message as received
    assert document == b"ISA*00~\r\n"
    assert as_received == message.body
    await receiver.reported()  # MdnSent goes out beside the answer
    assert [e.event_type for e in published] == ["MessageReceived", "MdnSent"]
