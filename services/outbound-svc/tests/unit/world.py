"""What the send use cases' unit tests share: our station MYCO and the partner ACME with real
keys, ACME's AS2 endpoint played by our codec (it decrypts, verifies and answers a signed
MDN, or whatever a test tells it to), and the use cases wired to the in-memory fakes."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from as2bus import as2
from as2bus.contracts import KeyMaterialEntry
from as2bus.contracts.certs import CertKind
from as2bus.outbound.accept import Acceptor
from as2bus.outbound.posting import PostResult
from as2bus.outbound.sending import Policy, Sender
from as2bus.outbound.settle import Settlement
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.keyring import KeyRing
from as2bus.testing.config_states import paired_replica, partner_state, station_state

from ..fakes import FakeDocuments, FakePartners, MessageStore, fake_units_of_work
from .messages import T0

STATION, PARTNER = "MYCO", "ACME"


@functools.cache  # RSA keys take a while: one pair per name for the whole run
def key_pair(common_name: str) -> tuple[bytes, KeyMaterialEntry]:
    """A private key (PKCS#8 PEM) and its certificate as cert-svc hands it out."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=365)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end).sign(key, hashes.SHA256())
    )  # fmt: skip
    kind: CertKind = "own" if common_name == "myco" else "partner"
    entry = KeyMaterialEntry(
        id=uuid.uuid4(), alias=common_name, kind=kind, subject=f"CN={common_name}",
        issuer=f"CN={common_name}", serial="1", fingerprint_sha256=common_name,
        not_before=start, not_after=end, activation_at=start,
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
    )  # fmt: skip
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, entry


def as2_keys(common_name: str) -> as2.KeyPair:
    pem, entry = key_pair(common_name)
    return as2.KeyPair(pem, entry.cert_pem.encode())


class Keys:
    """The key cache: our key and ACME's certificate."""

    def __init__(self) -> None:
        self.ring = KeyRing([key_pair("myco")[1], key_pair("acme")[1]])

    async def keyring(self, *, fresh: bool = False) -> KeyRing:
        return self.ring

    def private_key_pem(self, entry: KeyMaterialEntry) -> bytes:
        return key_pair(entry.alias)[0]


def config(station: dict[str, Any] | None = None, **partner: Any) -> ConfigReplica:
    """MYCO paired with ACME; ``station``: MYCO's settings (email, ...), ``partner``: ACME's
    (mdn_mode, max_attempts, ...)."""
    settings: dict[str, Any] = {"as2_alias": "acme", "mdn_mode": "sync"} | partner
    ours: dict[str, Any] = {"private_key_alias": "myco"} | (station or {})
    return paired_replica(station_state(STATION, **ours), partner_state(PARTNER, **settings))


def acme_reads(headers: dict[str, str], body: bytes) -> as2.ReceivedMessage:
    """Our message as ACME's software reads it: decrypted with its key, our signature checked."""
    us = as2.RemoteParty(as2_id=STATION, verify_certs=[as2_keys("myco").cert_pem])
    acme = as2.LocalParty(as2_id=PARTNER, signing=as2_keys("acme"), decryption=[as2_keys("acme")])
    return as2.parse_message(headers, body, lookup=lambda _f, _t: (acme, us))


def acme_answers(headers: dict[str, str], body: bytes) -> httpx.Response:
    """ACME's endpoint: reads the message and answers as asked, a signed sync MDN or 202."""
    received = acme_reads(headers, body)
    if received.mdn is None or received.mdn.async_url:
        return httpx.Response(202)
    acme = as2.LocalParty(as2_id=PARTNER, signing=as2_keys("acme"))
    mdn = as2.build_mdn(received, local=acme)
    return httpx.Response(200, headers=mdn.headers, content=mdn.body)


def refusing(status: int) -> Callable[[dict[str, str], bytes], httpx.Response]:
    return lambda _headers, _body: httpx.Response(status, text="not now")


def unreachable(_headers: dict[str, str], _body: bytes) -> PostResult:
    return PostResult(None, "connection refused by acme.example:443", retryable=True)


class Clock:
    """The use cases' time, which a test moves on."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now


@dataclass
class Outbound:
    """The use cases and the fakes around them, for a test to drive and inspect."""

    store: MessageStore
    documents: FakeDocuments
    partner: FakePartners
    acceptor: Acceptor
    sender: Sender
    settlement: Settlement
    replica: ConfigReplica
    clock: Clock


def outbound(
    answer: Callable[[dict[str, str], bytes], httpx.Response | PostResult] = acme_answers,
    *,
    resend_on_deadline: bool = False,
    max_attempts: int = 3,
    stream_bytes: int = 4 * 1024 * 1024,
    station: dict[str, Any] | None = None,
    mdn_url_setting: str | None = "https://myco.example/as2/mdn",
    **partner: Any,
) -> Outbound:
    """``mdn_url_setting``: AS2BUS_OUTBOUND_ASYNC_MDN_URL; ``partner``: ACME's settings."""
    clock = Clock()
    store, documents, partners = MessageStore(), FakeDocuments(), FakePartners(answer)
    replica, keys = config(station, **partner), Keys()
    units = fake_units_of_work(store)
    policy = Policy(
        max_attempts=max_attempts,
        backoff_seconds=10,
        backoff_max_seconds=600,
        async_mdn_deadline=timedelta(hours=1),
        async_mdn_url=mdn_url_setting,
        stream_bytes=stream_bytes,
    )
    return Outbound(
        store,
        documents,
        partners,
        Acceptor(
            units,
            replica,
            keys,
            documents,
            max_document_bytes=1 << 20,
            keep_in_database_bytes=64 * 1024,
            async_mdn_url=mdn_url_setting,
            clock=clock,
        ),
        Sender(units, replica, keys, documents, partners, policy, clock=clock),
        Settlement(units, resend_on_deadline=resend_on_deadline, clock=clock, documents=documents),
        replica,
        clock,
    )
