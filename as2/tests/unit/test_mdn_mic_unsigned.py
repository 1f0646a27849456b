"""Received-Content-MIC for messages no signature covers (RFC 4130 §7.3.1), with pyas2lib as
the sender that checks it. The expected MIC is computed here with hashlib over bytes the test
knows (the body as sent, or what openssl decrypts), never with the codec's own function.

pyas2lib compares the MDN's MIC with ``message.mic`` when that is set, and sets it only when it
signs; for unsigned messages the test sets it to the independent value, so pyas2lib's own
comparison decides (the control with a wrong value shows it does compare).
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from typing import Any

import pytest

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty
from as2bus.as2.algorithms import EncryptionAlg, SigningAlg
from as2bus.peers import pyas2lib_peer

from .conftest import EDI, OpensslPeer, openssl, replace
from .spooled_helpers import TempFiles, watch_temp_files

pyas2 = pyas2lib_peer.pyas2


@pytest.fixture(autouse=True)
def temp_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[TempFiles]:
    yield from watch_temp_files(monkeypatch)


def pyas2lib_sends(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty, *, encrypt: bool, micalg: str | None
) -> Any:
    """pyas2lib, unsigned, encrypted or not, asking for a sync MDN (signed with ``micalg``,
    or unsigned when None)."""
    bob = replace(
        bob_as_seen_by_alice,
        signing=None,
        encryption=EncryptionAlg.AES256 if encrypt else None,
        mdn_signing=SigningAlg(micalg) if micalg else None,
    )
    message = pyas2.Message(pyas2lib_peer.to_organization(alice), pyas2lib_peer.to_partner(bob))
    message.build(EDI, filename="po.edi", content_type="application/octet-stream")
    return message


def decrypted_by_openssl(peer: OpensslPeer, der: bytes) -> bytes:
    return openssl(
        "cms", "-decrypt", "-binary", "-inform", "DER",
        "-in", peer.write("in.der", der),
        "-inkey", peer.path("bob.key"), "-recip", peer.path("bob.pem"),
    )  # fmt: skip


def received_by_us(
    path: str, bob: LocalParty, alice: RemoteParty, headers: dict[str, str], body: bytes
) -> as2.ReceivedMessage:
    lookup = lambda _f, _t: (bob, alice)  # noqa: E731
    if path == "memory":
        return as2.parse_message(headers, body, lookup=lookup)
    got = as2.parse_spooled(headers, io.BytesIO(body), lookup=lookup, max_payload_bytes=1 << 26)
    assert got is not None
    assert got.payload_file is not None
    got.payload_file.file.close()
    return got


def pyas2lib_reads(message: Any, mdn: as2.OutgoingMdn) -> tuple[str, str | None]:
    raw = "".join(f"{k}: {v}\r\n" for k, v in mdn.headers.items()).encode() + b"\r\n" + mdn.body
    status, detail = pyas2.Mdn().parse(raw, find_message_cb=lambda _m, _r: message)
    return status, detail


def mic_field(mdn: as2.OutgoingMdn) -> str:
    fields = [line for line in mdn.body.split(b"\r\n") if line.startswith(b"Received-Content-MIC")]
    assert len(fields) == 1, mdn.body
    return fields[0].split(b":", 1)[1].strip().decode()


@pytest.mark.parametrize("path", ["memory", "spooled"])
@pytest.mark.parametrize(
    ("encrypt", "micalg", "spelled"),
    [
        (True, "sha256", "sha-256"),
        (False, "sha256", "sha-256"),
        (True, "sha384", "sha-384"),
        (False, "sha512", "sha-512"),
        (True, None, "sha-256"),  # no signed receipt asked for: SHA-256
        (False, None, "sha-256"),
    ],
)
def test_pyas2lib_checks_our_mic_for_encrypted_only_and_plain_messages(
    path: str,
    encrypt: bool,
    micalg: str | None,
    spelled: str,
    peer: OpensslPeer,
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    message = pyas2lib_sends(alice, bob_as_seen_by_alice, encrypt=encrypt, micalg=micalg)
    sent = pyas2lib_peer.to_outgoing(message)
    # RFC 4130 §7.3.1: the decrypted MIME entity (header fields and content), or the content.
    covered = decrypted_by_openssl(peer, sent.body) if encrypt else sent.body
    if encrypt:
        assert covered.startswith(b"Content-Type: application/octet-stream")
        assert covered.endswith(EDI)
    else:
        assert covered == EDI
    expected = base64.b64encode(hashlib.new(micalg or "sha256", covered).digest()).decode()

    unsigned = replace(alice_as_seen_by_bob, require_signed=False, require_encrypted=encrypt)
    got = received_by_us(path, bob, unsigned, sent.headers, sent.body)
    assert (got.signed, got.encrypted) == (False, encrypt)
    mdn = as2.build_mdn(got, local=bob)
    assert mic_field(mdn) == f"{expected}, {spelled}"

    message.mic = expected.encode()  # what pyas2lib compares the MDN's MIC with
    assert pyas2lib_reads(message, mdn) == ("processed", None)
    message.mic = base64.b64encode(hashlib.sha256(b"other").digest())  # control: it compares
    assert pyas2lib_reads(message, mdn) == ("processed/warning", "Message Integrity check failed.")


def test_a_signed_message_keeps_the_mic_of_its_signature(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    """Encrypted and signed: the MIC is the signature's (over the signed entity), not the one
    over the decrypted entity, and pyas2lib checks it against the MIC it computed itself."""
    bob_partner = replace(bob_as_seen_by_alice, mdn_signing=SigningAlg.SHA384)
    message = pyas2.Message(
        pyas2lib_peer.to_organization(alice), pyas2lib_peer.to_partner(bob_partner)
    )
    message.build(EDI, content_type="application/edi-x12")
    sent = pyas2lib_peer.to_outgoing(message)
    for path in ("memory", "spooled"):
        got = received_by_us(path, bob, alice_as_seen_by_bob, sent.headers, sent.body)
        assert (got.mic, got.mic_alg) == (sent.mic, SigningAlg.SHA256)
        assert pyas2lib_reads(message, as2.build_mdn(got, local=bob)) == ("processed", None)


def test_no_mic_is_computed_when_no_mdn_is_asked_for(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    message = pyas2lib_sends(alice, bob_as_seen_by_alice, encrypt=False, micalg=None)
    headers = {
        k: v for k, v in pyas2lib_peer.to_outgoing(message).headers.items()
        if k.lower() != "disposition-notification-to"
    }  # fmt: skip
    unsigned = replace(alice_as_seen_by_bob, require_signed=False, require_encrypted=False)
    for path in ("memory", "spooled"):
        got = received_by_us(path, bob, unsigned, headers, message.content)
        assert (got.mdn, got.mic, got.mic_alg) == (None, None, None)
