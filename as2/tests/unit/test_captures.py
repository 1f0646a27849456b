"""Fixed captures of AS2 messages and MDNs, in the shapes other AS2 products send, read from
files that never change (``as2/tests/fixtures/captures``, written once by ``make_captures.py``
there). Every message capture is read in memory and from a file, every MDN capture through
``parse_mdn``; each is checked against what ``manifest.json`` says it holds."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, ReceivedMessage, RemoteParty
from as2bus.as2.algorithms import normalize_signing

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
MANIFEST: list[dict[str, Any]] = json.loads((CAPTURES / "manifest.json").read_text())
MESSAGES = [c for c in MANIFEST if c["kind"] == "message"]
MDNS = [c for c in MANIFEST if c["kind"] == "mdn"]


def pem(name: str) -> bytes:
    return (CAPTURES / f"test-only-{name}.pem").read_bytes()


A = KeyPair(key_pem=pem("capture-a.key"), cert_pem=pem("capture-a.cert"))
B = KeyPair(key_pem=pem("capture-b.key"), cert_pem=pem("capture-b.cert"))
RECEIVER = LocalParty(as2_id="CAPTURE-B", signing=B, decryption=[B])
SENDER = RemoteParty(
    as2_id="CAPTURE-A",
    verify_certs=[A.cert_pem],
    encrypt_cert=A.cert_pem,
    require_signed=False,
    require_encrypted=False,
)


def lookup(as2_from: str, as2_to: str) -> tuple[LocalParty, RemoteParty]:
    if (as2_from, as2_to) != ("CAPTURE-A", "CAPTURE-B"):
        raise as2.UnknownPartyError(f"{as2_from} -> {as2_to}")
    return RECEIVER, SENDER


def body_of(capture: dict[str, Any]) -> bytes:
    name: str = capture["body"]
    return (CAPTURES / name).read_bytes()


def from_file(headers: dict[str, str], body: bytes) -> tuple[ReceivedMessage, bytes]:
    """``parse_spooled`` on the body written to a temporary file; the document read back."""
    with tempfile.TemporaryFile() as f:
        f.write(body)
        f.seek(0)
        got = as2.parse_spooled(headers, f, lookup=lookup, max_payload_bytes=1 << 20)
    if got.payload_file is None:
        return got, got.payload
    spooled = got.payload_file
    try:
        spooled.file.seek(spooled.offset)
        return got, spooled.file.read(spooled.size)
    finally:
        spooled.file.close()


def check_message(capture: dict[str, Any], got: ReceivedMessage, payload: bytes) -> None:
    want = capture["expect"]
    assert (len(payload), hashlib.sha256(payload).hexdigest()) == (
        want["payload_size"],
        want["payload_sha256"],
    )
    assert (got.filename, got.content_type) == (want["filename"], want["content_type"])
    assert (got.signed, got.encrypted, got.compressed) == (
        want["signed"],
        want["encrypted"],
        want["compressed"],
    )
    assert (got.mic, got.mic_alg) == (want["mic"], normalize_signing(want["mic_alg"]))
    assert (got.as2_from, got.as2_to) == ("CAPTURE-A", "CAPTURE-B")
    assert got.message_id == capture["headers"]["Message-ID"]
    assert got.verified_by == (A.cert_pem if want["signed"] else None)


def test_the_manifest_lists_every_capture_file() -> None:
    listed = {c["body"] for c in MANIFEST}
    assert listed == {p.name for p in CAPTURES.glob("*.bin")}
    assert len(MESSAGES) >= 8
    assert len(MDNS) >= 8


@pytest.mark.parametrize("capture", MESSAGES, ids=[c["name"] for c in MESSAGES])
def test_message_capture_reads_in_memory(capture: dict[str, Any]) -> None:
    got = as2.parse_message(capture["headers"], body_of(capture), lookup=lookup)
    assert got.payload_file is None
    check_message(capture, got, got.payload)


@pytest.mark.parametrize("capture", MESSAGES, ids=[c["name"] for c in MESSAGES])
def test_message_capture_reads_from_a_file(capture: dict[str, Any]) -> None:
    got, payload = from_file(capture["headers"], body_of(capture))
    check_message(capture, got, payload)


@pytest.mark.parametrize("capture", MDNS, ids=[c["name"] for c in MDNS])
def test_mdn_capture_reads(capture: dict[str, Any]) -> None:
    want = capture["expect"]
    got = as2.parse_mdn(capture["headers"], body_of(capture), verify_certs=[B.cert_pem])
    assert (got.disposition, got.modifier) == (want["disposition"], want["modifier"])
    assert got.original_message_id == want["original_message_id"]
    alg = want["mic_alg"] and normalize_signing(want["mic_alg"])
    assert (got.mic, got.mic_alg) == (want["mic"], alg)
    assert (got.as2_from, got.as2_to) == ("CAPTURE-B", "CAPTURE-A")
    assert got.signed == want["signed"]
    if want["signed"]:
        assert (got.signature_valid, got.verified_by) == (True, B.cert_pem)
    else:
        assert (got.signature_valid, got.verified_by) == (None, None)


@pytest.mark.parametrize("capture", [c for c in MDNS if c["expect"]["signed"]][:1])
def test_a_signed_mdn_capture_does_not_verify_with_another_certificate(
    capture: dict[str, Any],
) -> None:
    got = as2.parse_mdn(capture["headers"], body_of(capture), verify_certs=[A.cert_pem])
    assert (got.signed, got.signature_valid) == (True, False)


def _signed_only() -> tuple[dict[str, str], bytes]:
    (capture,) = [c for c in MESSAGES if c["name"] == "signed-only-xml-lf"]
    return capture["headers"], body_of(capture)


def test_a_flipped_byte_in_the_signed_document_fails_the_integrity_check() -> None:
    headers, body = _signed_only()
    at = body.index(b"<Order id=")
    tampered = body[:at] + b"<order" + body[at + 6 :]
    for read in (
        lambda: as2.parse_message(headers, tampered, lookup=lookup),
        lambda: from_file(headers, tampered),
    ):
        with pytest.raises(as2.As2Error) as err:
            read()
        assert err.value.modifier == "integrity-check-failed"


def test_a_flipped_byte_in_the_signature_fails_authentication() -> None:
    headers, body = _signed_only()
    # The RSA signature is the last thing in the DER: flip a base64 character near its end.
    end = body.rindex(b"\r\n--sig-4--")
    at = end - 10
    flipped = b"A" if body[at : at + 1] != b"A" else b"B"
    tampered = body[:at] + flipped + body[at + 1 :]
    with pytest.raises(as2.As2Error) as err:
        as2.parse_message(headers, tampered, lookup=lookup)
    assert err.value.modifier == "authentication-failed"
