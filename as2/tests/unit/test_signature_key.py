"""What a received message says of its signature for replay protection: the signing time and
a key of what the signature signs, the same for the same signed body whatever the Message-ID
(an HTTP header no signature covers), different for anything signed again."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms as asn1_cms

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty
from as2bus.as2.algorithms import SigningAlg

from .conftest import EDI, ENVELOPED, OpensslPeer, as2_headers, replace
from .spooled_helpers import TempFiles, same_as_parse_message, watch_temp_files


@pytest.fixture(autouse=True)
def temp_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[TempFiles]:
    yield from watch_temp_files(monkeypatch)


def sent_by_alice(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty, payload: bytes = EDI
) -> as2.OutgoingMessage:
    return as2.build_message(
        payload, sender=alice, receiver=bob_as_seen_by_alice, message_id="<po-1@alice>"
    )


def read(
    bob: LocalParty, them: RemoteParty, headers: dict[str, str], body: bytes
) -> as2.ReceivedMessage:
    """Read in memory and from a file: both give the same fields."""
    return same_as_parse_message(bob, them, headers, body)


def signed_attributes(signature_der: bytes) -> bytes:
    info = asn1_cms.ContentInfo.load(signature_der)
    return bytes(info["content"]["signer_infos"][0]["signed_attrs"].untag().dump())


def test_a_signed_message_has_its_signing_time_and_a_key_of_its_signed_attributes(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:  # fmt: skip
    before = datetime.now(UTC).replace(microsecond=0)
    sent = sent_by_alice(alice, bob_as_seen_by_alice)
    got = read(bob, alice_as_seen_by_bob, sent.headers, sent.body)
    assert got.signed_at is not None
    assert before - timedelta(seconds=1) <= got.signed_at <= datetime.now(UTC)
    assert got.signature_key is not None
    assert len(got.signature_key) == 64
    int(got.signature_key, 16)  # hex


def test_the_same_body_under_another_message_id_has_the_same_key(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:  # fmt: skip
    sent = sent_by_alice(alice, bob_as_seen_by_alice)
    first = read(bob, alice_as_seen_by_bob, sent.headers, sent.body)
    replayed = {**sent.headers, "Message-ID": "<replayed@attacker>"}
    again = read(bob, alice_as_seen_by_bob, replayed, sent.body)
    assert again.message_id == "<replayed@attacker>"
    assert (again.signature_key, again.signed_at) == (first.signature_key, first.signed_at)


def test_another_document_signed_has_another_key(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:  # fmt: skip
    one = sent_by_alice(alice, bob_as_seen_by_alice, EDI)
    other = sent_by_alice(alice, bob_as_seen_by_alice, EDI + b"ST*850*0002~\r\n")
    keys = {
        read(bob, alice_as_seen_by_bob, sent.headers, sent.body).signature_key
        for sent in (one, other)
    }
    assert len(keys) == 2


def test_an_unsigned_message_has_neither(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:  # fmt: skip
    unsigned = replace(bob_as_seen_by_alice, signing=None)
    sent = sent_by_alice(alice, unsigned)
    them = replace(alice_as_seen_by_bob, require_signed=False)
    got = read(bob, them, sent.headers, sent.body)
    assert (got.signed, got.signed_at, got.signature_key) == (False, None, None)


def test_the_key_is_the_sha256_of_the_signed_attributes_openssl_wrote(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    """Independent of our writer: openssl's signature, its signed attributes read by asn1crypto."""
    signed = peer.sign(peer.entity())
    got = read(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), peer.encrypt(signed))
    der = _detached_signature(signed)
    assert got.signature_key == hashlib.sha256(signed_attributes(der)).hexdigest()
    assert got.signed_at is not None
    assert abs(got.signed_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_without_signed_attributes_no_signing_time_and_the_key_is_of_the_digest(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    entity = peer.entity()
    signed = peer.sign(entity, "sha256", "-noattr")
    got = read(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), peer.encrypt(signed))
    assert got.signed_at is None
    digest = hashlib.sha256(entity).digest()
    assert got.mic == as2.compute_mic(entity, SigningAlg.SHA256)
    assert got.signature_key == hashlib.sha256(digest).hexdigest()


def _detached_signature(smime: bytes) -> bytes:
    """The DER of the signature part of openssl's multipart/signed (base64 in S/MIME)."""
    part = re.search(
        rb"Content-Type: application/(?:x-)?pkcs7-signature" rb".*?\r?\n\r?\n(.*?)\r?\n-----",
        smime,
        re.S,
    )
    assert part is not None
    return base64.b64decode(b"".join(part.group(1).split()))
