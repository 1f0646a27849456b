"""What the receive use case's unit tests share: the partner ACME and our station MYCO with
real keys, messages ACME builds with our codec, and a ``Receiver`` wired to the fakes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from as2bus import as2
from as2bus.as2.algorithms import EncryptionAlg, SigningAlg
from as2bus.inbound.domain import Answer, ReplayWindow
from as2bus.inbound.mdn_receipt import MdnReceiver
from as2bus.inbound.parties import Parties
from as2bus.inbound.replay_protection import ReplayProtection
from as2bus.inbound.service import Receiver
from as2bus.testing.config_states import partner_state, station_state

from ..fakes import (
    FakeBus,
    FakeDocumentStore,
    FakeLedger,
    FakeMdnQueue,
    FakePartyDirectory,
    FakeSeenSignatures,
)

PARTNER, STATION = "ACME", "MYCO"
EDI = b"ISA*00*          *00*          *ZZ*ACME           *ZZ*MYCO           ~\r\nIEA*1*1~\r\n"
ASYNC_URL = "https://acme.example/as2/mdn"


@functools.cache  # RSA keys take a while: one pair per name for the whole run
def key_pair(common_name: str, *, expired: bool = False) -> as2.KeyPair:
    """A key and its self-signed certificate, valid from yesterday for a month, or (expired)
    for the month up to yesterday."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.now(UTC) - timedelta(days=31 if expired else 1)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return as2.KeyPair(pem, cert.public_bytes(serialization.Encoding.PEM))


#: inbound-svc's default replay window and clock skew.
WINDOW = ReplayWindow(timedelta(hours=48), timedelta(minutes=15))


def partnership(
    *, require_signed: bool = True, require_encrypted: bool = True, replay_protection: bool = False
) -> Parties:
    """MYCO and ACME as the resolver would give them: our keys, ACME's certificate."""
    acme, myco = key_pair("acme"), key_pair("myco")
    return Parties(
        station_state(STATION, name="Me"),
        partner_state(
            PARTNER,
            name="Acme",
            as2_alias="acme",
            as2_url="https://acme.example/as2",
            replay_protection=replay_protection,
        ),
        as2.LocalParty(as2_id=STATION, signing=myco, decryption=[myco]),
        as2.RemoteParty(
            as2_id=PARTNER,
            verify_certs=[acme.cert_pem],
            encrypt_cert=acme.cert_pem,
            require_signed=require_signed,
            require_encrypted=require_encrypted,
        ),
    )


def acme_sends(
    payload: bytes = EDI,
    *,
    message_id: str = "<order-1@acme>",
    signed: bool = True,
    encrypted: bool = True,
    mdn: str | None = "sync",
    attachments: tuple[as2.Attachment, ...] = (),
    to: str = STATION,
    sender: str = PARTNER,
    signer: as2.KeyPair | None = None,
    encrypted_for: as2.KeyPair | None = None,
    content_type: str = "application/edi-x12",
) -> as2.OutgoingMessage:
    """A message from ACME to us, as its AS2 software would POST it; or as someone else
    does, claiming to be ACME: signed with another key (``signer``), or encrypted for another
    certificate than ours (``encrypted_for``)."""
    to_us = as2.RemoteParty(
        as2_id=to,
        encrypt_cert=(encrypted_for or key_pair("myco")).cert_pem,
        signing=SigningAlg.SHA256 if signed else None,
        encryption=EncryptionAlg.AES256 if encrypted else None,
        mdn_mode="async" if mdn == "async" else "sync" if mdn == "sync" else None,
        async_mdn_url=ASYNC_URL if mdn == "async" else None,
    )
    return as2.build_message(
        payload,
        sender=as2.LocalParty(as2_id=sender, signing=signer or key_pair("acme")),
        receiver=to_us,
        filename="order.x12",
        content_type=content_type,
        subject="Orders",
        message_id=message_id,
        attachments=attachments,
    )


def without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != name.lower()}


class ReportingReceiver(Receiver):
    """The Receiver, whose reports (MdnSent, MessageRejected, MessageDuplicate: published
    beside the answer in the service) are on the fake bus by the time ``receive`` returns, for
    a test to read them there."""

    async def receive(self, *args: Any, **kwargs: Any) -> Answer:
        answer = await super().receive(*args, **kwargs)
        await self.reported()
        return answer


@dataclass
class Inbound:
    """The use case and the fakes around it, for a test to drive and inspect."""

    receiver: Receiver
    mdn_receiver: MdnReceiver
    parties: FakePartyDirectory
    ledger: FakeLedger
    documents: FakeDocumentStore
    mdns: FakeMdnQueue
    bus: FakeBus
    signatures: FakeSeenSignatures


def inbound(
    *partnerships: Parties,
    keep_received_messages: bool = True,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Inbound:
    """``clock``: our time, as replay protection reads it."""
    parties = FakePartyDirectory(*(partnerships or (partnership(),)))
    ledger, documents, mdns, bus = FakeLedger(), FakeDocumentStore(), FakeMdnQueue(), FakeBus()
    signatures = FakeSeenSignatures()
    receiver = ReportingReceiver(
        parties,
        ledger,
        documents,
        mdns,
        bus,
        replays=ReplayProtection(signatures, WINDOW, clock),
        max_payload_bytes=1 << 20,
        keep_received_messages=keep_received_messages,
    )
    mdn_receiver = MdnReceiver(parties, documents, bus)
    return Inbound(receiver, mdn_receiver, parties, ledger, documents, mdns, bus, signatures)


def read_our_mdn(headers: dict[str, str], body: bytes) -> as2.ReceivedMdn:
    """Read our MDN as ACME does, checking its signature against our certificate."""
    return as2.parse_mdn(headers, body, verify_certs=[key_pair("myco").cert_pem])
