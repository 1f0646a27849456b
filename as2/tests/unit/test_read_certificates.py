"""A partner certificate counts only while it is valid at the signing time (the signed
attribute, else now); when none verifies, the reason says why. ``allow_expired`` (for MDNs
whose certificate has expired since) accepts an expired one."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, RemoteParty, cms_write, verify
from as2bus.as2.algorithms import SigningAlg

from .conftest import (
    EDI,
    ENVELOPED,
    EXPIRED_ON,
    OpensslPeer,
    as2_headers,
    recertified,
    replace,
    smime_split,
)
from .spooled_helpers import TempFiles, same_as_parse_message, same_failure, watch_temp_files

EXPIRED = "expired on 2021-01-01 00:00:00 UTC"


@pytest.fixture(autouse=True)
def temp_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[TempFiles]:
    yield from watch_temp_files(monkeypatch)


@pytest.fixture
def expired_peer(peer: OpensslPeer, alice_expired_keys: KeyPair) -> OpensslPeer:
    """openssl signing as ALICE with the certificate that expired in 2021 (it does not mind)."""
    peer.write("alice.pem", alice_expired_keys.cert_pem)
    return peer


def parse(
    bob: LocalParty, them: RemoteParty, body: bytes, headers: dict[str, str] | None = None
) -> as2.ReceivedMessage:
    headers = headers or as2_headers(ENVELOPED)
    return as2.parse_message(headers, body, lookup=lambda _f, _t: (bob, them))


def test_a_signature_by_an_expired_certificate_names_the_expiry(
    expired_peer: OpensslPeer,
    bob: LocalParty,
    alice_expired_keys: KeyPair,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    body = expired_peer.encrypt(expired_peer.sign(expired_peer.entity()))
    them = replace(alice_as_seen_by_bob, verify_certs=[alice_expired_keys.cert_pem])
    assert same_failure(bob, them, as2_headers(ENVELOPED), body) == "authentication-failed"
    with pytest.raises(as2.As2Error) as err:
        parse(bob, them, body)
    assert EXPIRED in err.value.reason
    assert "at signing time 20" in err.value.reason  # the signed attribute, not "unknown"


def test_during_a_rotation_the_certificate_in_service_verifies(
    expired_peer: OpensslPeer,
    bob: LocalParty,
    alice_keys: KeyPair,
    alice_expired_keys: KeyPair,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    """The expired certificate is the one the signature names, but it is skipped: the valid
    one (same key, renewed) verifies."""
    body = expired_peer.encrypt(expired_peer.sign(expired_peer.entity()))
    them = replace(
        alice_as_seen_by_bob, verify_certs=[alice_expired_keys.cert_pem, alice_keys.cert_pem]
    )
    got = same_as_parse_message(bob, them, as2_headers(ENVELOPED), body)
    assert (got.payload, got.verified_by) == (EDI, alice_keys.cert_pem)


def test_a_signature_without_attributes_is_judged_at_the_time_of_reading(
    expired_peer: OpensslPeer,
    bob: LocalParty,
    alice_expired_keys: KeyPair,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    body = expired_peer.encrypt(expired_peer.sign(expired_peer.entity(), "sha256", "-noattr"))
    them = replace(alice_as_seen_by_bob, verify_certs=[alice_expired_keys.cert_pem])
    with pytest.raises(as2.As2Error) as err:
        parse(bob, them, body)
    assert err.value.modifier == "authentication-failed"
    assert EXPIRED in err.value.reason
    assert "at signing time unknown, now" in err.value.reason


def _signed_at(pair: KeyPair, content: bytes, at: datetime) -> bytes:
    digest = hashlib.sha256(content).digest()
    return cms_write.sign_digest(digest, SigningAlg.SHA256, pair, at=at)


def test_the_signing_time_decides_not_the_time_of_reading(
    alice_keys: KeyPair, alice_expired_keys: KeyPair
) -> None:
    """Signed in 2020, while the certificate was valid: it verifies although expired now. A
    certificate issued after the signing time does not."""
    content = b"signed in 2020"
    signature = _signed_at(alice_expired_keys, content, datetime(2020, 6, 1, tzinfo=UTC))
    verified = verify.verify([content], signature, [alice_expired_keys.cert_pem])
    assert verified.cert == alice_expired_keys.cert_pem
    with pytest.raises(as2.As2Error) as err:
        verify.verify([content], signature, [alice_keys.cert_pem])  # valid since yesterday
    assert err.value.modifier == "authentication-failed"
    assert "is valid only from" in err.value.reason
    assert "at signing time 2020-06-01 00:00:00 UTC" in err.value.reason


def test_a_certificate_not_yet_valid_is_skipped(alice_keys: KeyPair) -> None:
    now = datetime.now(UTC)
    future = recertified(alice_keys, "alice", valid=(now + timedelta(days=2), now + timedelta(3)))
    signature = _signed_at(future, b"x", now)
    with pytest.raises(as2.As2Error, match="is valid only from"):
        verify.verify([b"x"], signature, [future.cert_pem])


def test_allow_expired_accepts_an_expired_certificate(alice_expired_keys: KeyPair) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    signature = _signed_at(alice_expired_keys, b"x", now)
    with pytest.raises(as2.As2Error, match=EXPIRED):
        verify.verify([b"x"], signature, [alice_expired_keys.cert_pem])
    verified = verify.verify([b"x"], signature, [alice_expired_keys.cert_pem], allow_expired=True)
    assert verified.cert == alice_expired_keys.cert_pem
    assert now > EXPIRED_ON


def test_allow_expired_does_not_accept_a_wrong_signature(
    alice_expired_keys: KeyPair, stranger_keys: KeyPair
) -> None:
    signature = _signed_at(alice_expired_keys, b"x", datetime.now(UTC))
    with pytest.raises(as2.As2Error) as err:
        verify.verify([b"x"], signature, [stranger_keys.cert_pem], allow_expired=True)
    assert err.value.reason.startswith("signed with a certificate we do not have (issuer ")


MDN_REPORT = (
    b'Content-Type: multipart/report; report-type=disposition-notification; boundary="r"\r\n'
    b"\r\n--r\r\nContent-Type: text/plain\r\n\r\nThank you.\r\n--r\r\n"
    b"Content-Type: message/disposition-notification\r\n\r\n"
    b"Original-Message-ID: <m1@bob>\r\n"
    b"Disposition: automatic-action/MDN-sent-automatically; processed\r\n\r\n--r--\r\n"
)


def test_an_mdn_signed_with_a_since_expired_certificate(
    expired_peer: OpensslPeer, alice_expired_keys: KeyPair
) -> None:
    """What the per-partner option is for: without it the signature is not valid, with it
    it is, and the certificate is named."""
    signed = expired_peer.sign(MDN_REPORT, "sha256")
    smime_headers, body = smime_split(signed)
    headers = {"Content-Type": smime_headers["Content-Type"], "AS2-From": "ALICE", "AS2-To": "BOB"}
    certs = [alice_expired_keys.cert_pem]
    strict = as2.parse_mdn(headers, body, verify_certs=certs)
    assert (strict.signed, strict.signature_valid, strict.verified_by) == (True, False, None)
    lenient = as2.parse_mdn(headers, body, verify_certs=certs, allow_expired=True)
    assert (lenient.signature_valid, lenient.verified_by) == (True, alice_expired_keys.cert_pem)
    assert lenient.original_message_id == "<m1@bob>"
