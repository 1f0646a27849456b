"""A partner's message of three documents (RFC 6362 multiple attachments), signed and
encrypted by the codec, POSTed over HTTP to inbound-svc's endpoint (uvicorn, in this process):
every document lands in the real object store byte for byte, MessageReceived on the real
events stream lists them, the ledger counts them (both databases), the retention deletes them
all; a document the store refuses delivers none. Read into memory and spooled to a file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus import as2
from as2bus.contracts import DocumentRef, Event
from as2bus.contracts.documents import documents_bucket
from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.inbound.adapters.ledger import Ledger
from as2bus.inbound.adapters.retention import ReceivedDocuments
from as2bus.inbound.adapters.seen_signatures import SeenSignatureTable
from as2bus.inbound.adapters.tables import received_messages
from as2bus.inbound.domain import attachment_name, document_name
from as2bus.inbound.entrypoints.http import BodyLimits, Spooling, as2_router
from as2bus.inbound.mdn_receipt import MdnReceiver
from as2bus.inbound.parties import Parties
from as2bus.inbound.replay_protection import ReplayProtection
from as2bus.inbound.service import Receiver
from as2bus.inbound.wiring import Components, wiring
from as2bus.shared.bus import Bus, open_bus, publish_event
from as2bus.shared.bus.documents import DocumentStore
from as2bus.testing.config_states import partner_state, station_state
from as2bus.testing.infra import free_port
from as2bus.testing.waiting import until

from ..unit.receiving import WINDOW

Sessions = async_sessionmaker[AsyncSession]
FIRST = b"ISA*00*          *00*          *ZZ*ACME           *ZZ*MYCO           ~\r\n" * 40
MORE = [
    as2.Attachment(b"<invoice n='1'/>\r\n" * 300, "invoice.xml", "application/xml"),
    as2.Attachment(bytes(range(256)) * 64, "scan.pdf", "application/pdf"),
]


def make_pair(cn: str) -> as2.KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return as2.KeyPair(pem, cert.public_bytes(serialization.Encoding.PEM))


@dataclass(frozen=True)
class Keys:
    acme: as2.KeyPair
    myco: as2.KeyPair


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(make_pair("acme"), make_pair("myco"))


class Resolver:
    def __init__(self, keys: Keys) -> None:
        self.parties = Parties(
            station_state("MYCO", name="Me"),
            partner_state("ACME", name="Acme", as2_alias="acme", as2_url="http://x/as2"),
            as2.LocalParty(as2_id="MYCO", signing=keys.myco, decryption=[keys.myco]),
            as2.RemoteParty(as2_id="ACME", verify_certs=[keys.acme.cert_pem],
                            encrypt_cert=keys.acme.cert_pem),
        )  # fmt: skip

    async def resolve(self, _from: str, _to: str) -> Parties:
        return self.parties


class RefusingStore(DocumentStore):
    """The real store, but the object named ``refuse`` cannot be stored (once)."""

    refuse: str | None = None

    async def put(self, name: str, data: bytes) -> DocumentRef:
        if name == self.refuse:
            self.refuse = None
            raise ConnectionError("nats: connection closed")
        return await super().put(name, data)

    async def put_file(self, name: str, file: Any, offset: int, size: int) -> DocumentRef:
        if name == self.refuse:
            self.refuse = None
            raise ConnectionError("nats: connection closed")
        return await super().put_file(name, file, offset, size)


@dataclass
class Inbound:
    url: str
    bus: Bus
    documents: RefusingStore
    sessions: Sessions


@pytest.fixture(params=["in-memory", "spooled"])
async def inbound(
    request: pytest.FixtureRequest,
    nats_url: str,
    keys: Keys,
    sessions: Sessions,
    ledger_sessions: Sessions,
) -> AsyncIterator[Inbound]:
    bus = await open_bus(nats_url, name="inbound-test")
    documents = RefusingStore(await documents_bucket(bus.js), bus.js)

    async def publish(event: Event) -> int:
        return int((await publish_event(bus.broker, event)).seq)

    parties = Resolver(keys)
    receiver = Receiver(
        parties,  # type: ignore[arg-type]
        Ledger(ledger_sessions),
        documents,
        mdns=None,  # type: ignore[arg-type]
        publish=publish,
        replays=ReplayProtection(SeenSignatureTable(ledger_sessions), WINDOW),
        max_payload_bytes=1 << 20,
    )
    spool = 0 if request.param == "spooled" else 1 << 20  # 0: every body goes to a file
    app = FastAPI()
    app.include_router(as2_router("/as2", 64 * 1024, Spooling(spool), BodyLimits(65536, 30)))
    mdn_receiver = MdnReceiver(parties, documents, publish)  # type: ignore[arg-type]
    wiring.install(app, Components(receiver=receiver, mdn_receiver=mdn_receiver))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    await until(lambda: server.started, what="uvicorn serving", interval=0.01)
    try:
        yield Inbound(f"http://127.0.0.1:{port}/as2", bus, documents, sessions)
    finally:
        server.should_exit = True
        await serving
        await bus.close()


def message(keys: Keys, message_id: str) -> as2.OutgoingMessage:
    sender = as2.LocalParty(as2_id="ACME", signing=keys.acme)
    to_us = as2.RemoteParty(as2_id="MYCO", encrypt_cert=keys.myco.cert_pem,
                            verify_certs=[keys.myco.cert_pem])  # fmt: skip
    return as2.build_message(FIRST, sender=sender, receiver=to_us, filename="order.x12",
                             message_id=message_id, attachments=MORE)  # fmt: skip


async def post(inbound: Inbound, built: as2.OutgoingMessage) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(inbound.url, headers=built.headers, content=built.body)


async def received_events(inbound: Inbound) -> list[dict[str, Any]]:
    total = (await inbound.bus.js.stream_info(EVENTS_STREAM)).state.messages
    found = [json.loads((await inbound.bus.js.get_msg(EVENTS_STREAM, seq)).data or b"")
             for seq in range(1, total + 1)]  # fmt: skip
    return [e for e in found if e["event_type"] == "MessageReceived"]


async def ledger_row(inbound: Inbound) -> Any:
    async with inbound.sessions() as session:
        return (await session.execute(sa.select(received_messages))).one_or_none()


async def test_three_documents_are_stored_announced_and_purged_together(
    inbound: Inbound, keys: Keys
) -> None:
    built = message(keys, "<three@acme>")
    answer = await post(inbound, built)
    assert answer.status_code == 200, answer.text
    mdn = as2.parse_mdn(answer.headers, answer.content, verify_certs=[keys.myco.cert_pem])
    assert (mdn.disposition, mdn.signature_valid, mdn.mic) == ("processed", True, built.mic)

    (event,) = await received_events(inbound)
    data = event["data"]
    name = document_name("ACME", "<three@acme>")
    assert (data["filename"], data["document"]["name"]) == ("order.x12", name)
    assert [(a["filename"], a["content_type"], a["document"]["name"])
            for a in data["attachments"]] == [
        ("invoice.xml", "application/xml", attachment_name(name, 1)),
        ("scan.pdf", "application/pdf", attachment_name(name, 2)),
    ]  # fmt: skip
    refs = [DocumentRef.model_validate(data["document"]),
            *(DocumentRef.model_validate(a["document"]) for a in data["attachments"])]  # fmt: skip
    for ref, expected in zip(refs, [FIRST, *(a.payload for a in MORE)], strict=True):
        assert await inbound.documents.get(ref) == expected
    row = await ledger_row(inbound)
    assert (row.status, row.document, row.attachments) == ("delivered", name, 2)

    again = await post(inbound, built)  # a resend: a duplicate, nothing delivered again
    assert again.status_code == 200
    assert len(await received_events(inbound)) == 1

    async def nobody_reads() -> int | None:
        return None

    later = [datetime.now(UTC) + timedelta(hours=2)]
    retention = ReceivedDocuments(inbound.sessions, inbound.documents, nobody_reads,
                                  grace=timedelta(hours=1), keep=timedelta(days=30),
                                  clock=lambda: later[0])  # fmt: skip
    assert await retention.purge() == 0  # consumed (nobody reads) now: the grace starts
    later[0] += timedelta(hours=2)
    assert await retention.purge() == 1
    for ref in refs:
        assert await inbound.documents.stored(ref.name) is None
    assert data["raw"] is not None  # the message as received stays for the whole retention
    assert await inbound.documents.stored(data["raw"]["name"]) is not None


async def test_a_document_the_store_refuses_delivers_none_and_the_resend_all(
    inbound: Inbound, keys: Keys
) -> None:
    built = message(keys, "<refused@acme>")
    name = document_name("ACME", "<refused@acme>")
    inbound.documents.refuse = attachment_name(name, 2)
    refused = await post(inbound, built)
    assert refused.status_code == 503
    assert "Retry-After" in refused.headers
    assert await received_events(inbound) == []
    assert await ledger_row(inbound) is None  # the claim was released

    answer = await post(inbound, built)
    assert answer.status_code == 200, answer.text
    (event,) = await received_events(inbound)
    assert len(event["data"]["attachments"]) == 2
    stored = await inbound.documents.stored(attachment_name(name, 2))
    assert stored is not None
    assert stored[0] == len(MORE[1].payload)
