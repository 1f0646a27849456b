"""The sender gives the codec every document of a message, the first first and then its
attachments in order (RFC 6362), whether it builds in memory or streams from the object store
(a fake of our document store; the real codec, signing and encrypting; the message parsed back
as the partner would)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, RemoteParty
from as2bus.as2.algorithms import Compression
from as2bus.as2.streaming import StreamPlan
from as2bus.contracts import DocumentRef, TokenAuthPublic
from as2bus.outbound.domain import Message
from as2bus.outbound.domain.documents import Document
from as2bus.outbound.parties import Sides
from as2bus.outbound.posting import Upload
from as2bus.outbound.sending import Policy, Sender
from as2bus.shared.keyring import KeyRing
from as2bus.testing.config_states import partner_state, station_state
from as2bus.testing.key_material import StaleKeys, certificate_entry

from .messages import queued

Mode = Literal["memory", "streamed", "token-in-body"]


def key_pair(cn: str) -> KeyPair:
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
    return KeyPair(pem, cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def keys() -> tuple[KeyPair, KeyPair]:
    return key_pair("myco"), key_pair("acme")


class FakeDocuments:
    """The object store's reading side: each document in chunks of ``chunk`` bytes."""

    def __init__(self, objects: dict[str, bytes], chunk: int = 1000) -> None:
        self.objects, self.chunk = objects, chunk
        self.read: list[str] = []

    async def chunks(self, ref: DocumentRef) -> AsyncIterator[bytes]:
        self.read.append(ref.name)
        data = self.objects[ref.name]
        for i in range(0, len(data), self.chunk):
            yield data[i : i + self.chunk]

    async def get(self, ref: DocumentRef) -> bytes:
        self.read.append(ref.name)
        return self.objects[ref.name]


def stored(name: str, data: bytes, filename: str | None, content_type: str) -> Document:
    ref = DocumentRef(bucket="as2_documents", name=name, size=len(data), sha256="0" * 64)
    return Document(filename, content_type, len(data), ref=ref)


FIRST = b"ISA*00*first~\r\n" * 300
SECOND = bytes(range(256)) * 20  # binary: a PDF, say
THIRD = b"<kept in the row/>"
FOURTH = b"last~" * 999
OBJECTS = {"out/first": FIRST, "out/second": SECOND, "out/fourth": FOURTH}
DOCUMENTS = [
    stored("out/first", FIRST, "first.edi", "application/edi-x12"),
    stored("out/second", SECOND, "second.pdf", "application/pdf"),
    Document("third.xml", "application/xml", len(THIRD), kept=THIRD),
    Document(None, "application/edi-x12", 0, kept=b""),
    stored("out/fourth", FOURTH, "fourth.edi", "application/edi-x12"),
]


def sides_for(keys: tuple[KeyPair, KeyPair], mode: Mode) -> Sides:
    mine, theirs = keys
    auth = TokenAuthPublic(placement="body", token_set=True) if mode == "token-in-body" else None
    partner = partner_state("acme", **({"http_auth": auth} if auth else {}))
    return Sides(
        station=station_state("MYCO"),
        partner=partner,
        local=LocalParty("MYCO", signing=mine),
        remote=RemoteParty("acme", encrypt_cert=theirs.cert_pem),  # signed, encrypted, sync MDN
    )


def sender(documents: FakeDocuments, mode: Mode) -> Sender:
    policy = Policy(
        max_attempts=1, backoff_seconds=1, backoff_max_seconds=1,
        async_mdn_deadline=timedelta(hours=1), async_mdn_url=None,
        stream_bytes=10**9 if mode == "memory" else 1, keep_sent_messages=False,
    )  # fmt: skip
    return Sender(
        None, None, None, documents, None, policy,  # type: ignore[arg-type]
        clock=lambda: datetime.now(UTC),
    )  # fmt: skip


def as_the_partner_reads_it(
    keys: tuple[KeyPair, KeyPair], headers: dict[str, str], body: bytes
) -> as2.ReceivedMessage:
    mine, theirs = keys

    def lookup(as2_from: str, as2_to: str) -> tuple[LocalParty, RemoteParty]:
        assert (as2_from, as2_to) == ("MYCO", "acme")
        return LocalParty("acme", None, [theirs]), RemoteParty("MYCO", [mine.cert_pem])

    return as2.parse_message(headers, body, lookup=lookup)


def documents_in(message: as2.ReceivedMessage) -> list[tuple[str | None, str, bytes]]:
    first = (message.filename, message.content_type, message.payload)
    rest = [(a.filename, a.content_type, a.payload) for a in message.attachments]
    return [first, *rest]


async def body_of(upload: Upload) -> bytes:
    return b"".join([piece async for piece in upload])


ROW = queued(subject="Several", message_id="<several@myco>", partner="acme")
EXPECTED = [
    ("first.edi", "application/edi-x12", FIRST),
    ("second.pdf", "application/pdf", SECOND),
    ("third.xml", "application/xml", THIRD),
    (None, "application/edi-x12", b""),
    ("fourth.edi", "application/edi-x12", FOURTH),
]


@pytest.mark.parametrize("mode", ["memory", "token-in-body"])
async def test_built_in_memory_the_message_holds_every_document_in_order(
    keys: tuple[KeyPair, KeyPair], mode: Mode
) -> None:
    store = FakeDocuments(OBJECTS)
    built, body = await sender(store, mode)._build(ROW, sides_for(keys, mode), DOCUMENTS)
    assert isinstance(built, as2.OutgoingMessage)
    assert body == built.body
    assert store.read == ["out/first", "out/second", "out/fourth"]  # each read once
    received = as_the_partner_reads_it(keys, built.headers, body)
    assert documents_in(received) == EXPECTED
    assert received.message_id == "<several@myco>"
    assert (received.signed, received.encrypted) == (True, True)
    assert received.mic == built.mic is not None  # what the MDN must report


@pytest.mark.parametrize("compression", [None, "before-signing"])
async def test_streamed_the_message_holds_every_document_in_order_at_every_pass(
    keys: tuple[KeyPair, KeyPair], compression: Literal["before-signing"] | None
) -> None:
    """Signed and encrypted, the documents are read once per pass, as sent; compressed, a
    first reading measures them before the plan."""
    store = FakeDocuments(OBJECTS, chunk=777)  # chunk edges nowhere near the documents'
    sides = sides_for(keys, "streamed")
    if compression:
        sides = replace(sides, remote=replace(sides.remote, compression=Compression(compression)))
    plan, body = await sender(store, "streamed")._build(ROW, sides, DOCUMENTS)
    assert isinstance(plan, StreamPlan)
    assert isinstance(body, Upload)
    stored_reads = ["out/first", "out/second", "out/fourth"]
    planned = stored_reads if compression else []  # the plan's reading, if it needs one
    assert store.read == planned
    for attempt in (1, 2):  # httpx may send the body twice: each pass reads every document
        sent = await body_of(body)
        assert store.read == planned + stored_reads * attempt
        assert len(sent) == plan.length == int(plan.headers["Content-Length"])
        received = as_the_partner_reads_it(keys, plan.headers, sent)
        assert documents_in(received) == EXPECTED
        assert received.compressed == bool(compression)
        assert received.mic == plan.mic is not None


async def test_only_documents_kept_in_the_row_are_built_in_memory_even_when_large(
    keys: tuple[KeyPair, KeyPair],
) -> None:
    kept = [Document("a.edi", "application/edi-x12", 4, kept=b"AAAA"),
            Document("b.edi", "text/plain", 2, kept=b"BB")]  # fmt: skip
    store = FakeDocuments({})
    built, body = await sender(store, "streamed")._build(ROW, sides_for(keys, "streamed"), kept)
    assert isinstance(body, bytes)
    received = as_the_partner_reads_it(keys, built.headers, body)
    assert documents_in(received) == [
        ("a.edi", "application/edi-x12", b"AAAA"),
        ("b.edi", "text/plain", b"BB"),
    ]
    assert store.read == []


async def test_the_memory_limit_counts_every_document_of_the_message() -> None:
    """A message that cannot be streamed (a token in the body) fails when its documents
    together exceed max_in_memory_bytes, though each alone is within it."""
    now = datetime.now(UTC)
    station = station_state("MYCO")
    partner = partner_state("acme", http_auth=TokenAuthPublic(placement="body", token_set=True))
    link = SimpleNamespace(station_id=station.id, partner_id=partner.id, enabled=True)
    config = SimpleNamespace(
        find_partnership=lambda s, p: link,
        stations={station.id: station},
        partners={partner.id: partner},
    )
    ring = KeyRing(
        [certificate_entry("myco", "own", now), certificate_entry("acme", "partner", now)], []
    )
    failed: list[tuple[str, str]] = []

    class Failing(Sender):
        async def _fail(self, message: Message, code: str, reason: str, *_: Any, **__: Any) -> Any:
            failed.append((code, reason))
            return "failed"

    policy = Policy(
        max_attempts=1, backoff_seconds=1, backoff_max_seconds=1,
        async_mdn_deadline=timedelta(hours=1), async_mdn_url=None, max_in_memory_bytes=100,
    )  # fmt: skip
    sender = Failing(
        None, config, StaleKeys(ring, ring), FakeDocuments({}), None, policy,  # type: ignore[arg-type]
        clock=lambda: now,
    )  # fmt: skip
    ref = {"bucket": "as2_documents", "name": "out/a", "size": 60, "sha256": "0" * 64}
    message = queued(
        partner="acme", filename=None, content_type="x", document=ref, content=None,
        attachments=[{"filename": "b", "content_type": "x", "size": 60, "document": ref}],
    )  # fmt: skip
    assert await sender._send(message) == "failed"
    ((code, reason),) = failed
    assert code == "document-too-large-for-memory"
    assert reason.startswith("the 2 documents (120 bytes) would be built in memory")
