"""Our own build → parse → MDN → MDN parse, across every algorithm combination we offer."""

from __future__ import annotations

import itertools
import os

import pytest

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty
from as2bus.as2.algorithms import (
    Compression,
    EncryptionAlg,
    KeyTransport,
    SignatureScheme,
    SigningAlg,
    TransferEncoding,
)
from as2bus.as2.model import MdnMode

from .conftest import EDI, replace

SIGNING = [*SigningAlg, None]
ENCRYPTION = [*EncryptionAlg, None]
#: (mode, MDN signing): rotated over the crypto matrix so that each appears with each layout.
MDNS: list[tuple[MdnMode | None, SigningAlg | None]] = [
    ("sync", SigningAlg.SHA256),
    ("async", SigningAlg.SHA512),
    ("sync", None),
    ("async", None),
    ("sync", SigningAlg.SHA1),
    (None, None),
]
#: Line ends of every kind and arbitrary bytes: each must arrive exactly as sent.
PAYLOADS = [EDI, os.urandom(3000), b"<?xml version='1.0'?>\n<po>\n  <line/>\n</po>\n"]
SCHEMES = list(SignatureScheme)
TRANSPORTS = list(KeyTransport)
#: Signature scheme and key transport rotate too: the scheme changes with every other case
#: (each pair of cases shares a compression, of which there are 3: every scheme meets every
#: compression), the transport with every signing/encryption pair (7 encryptions).
CASES = [
    pytest.param(
        s,
        e,
        c,
        t,
        MDNS[i % len(MDNS)],
        PAYLOADS[i % len(PAYLOADS)],
        SCHEMES[i // 2 % len(SCHEMES)],
        TRANSPORTS[i // 6 % len(TRANSPORTS)],
        id=f"{s}-{e}-{c}-{t}-{SCHEMES[i // 2 % 2]}-{TRANSPORTS[i // 6 % 2]}",
    )
    for i, (s, e, c, t) in enumerate(
        itertools.product(SIGNING, ENCRYPTION, Compression, TransferEncoding)
    )
]


@pytest.mark.parametrize(
    ("signing", "encryption", "compression", "encoding", "mdn", "payload", "scheme", "transport"),
    CASES,
)
def test_round_trip(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    signing: SigningAlg | None,
    encryption: EncryptionAlg | None,
    compression: Compression,
    encoding: TransferEncoding,
    mdn: tuple[MdnMode | None, SigningAlg | None],
    payload: bytes,
    scheme: SignatureScheme,
    transport: KeyTransport,
) -> None:
    mode, mdn_signing = mdn
    receiver = replace(
        bob_as_seen_by_alice,
        signing=signing,
        signature_scheme=scheme,
        key_transport=transport,
        encryption=encryption,
        compression=compression,
        encoding=encoding,
        mdn_mode=mode,
        mdn_signing=mdn_signing,
        async_mdn_url="https://alice.example/as2/mdn" if mode == "async" else None,
    )
    sent = as2.build_message(
        payload, sender=alice, receiver=receiver, filename="po.x12", content_type="application/xml"
    )
    assert not as2.is_mdn(sent.headers, sent.body)
    sender = replace(
        alice_as_seen_by_bob,
        require_signed=signing is not None,
        require_encrypted=encryption is not None,
    )
    got = as2.parse_message(sent.headers, sent.body, lookup=lambda _f, _t: (bob, sender))

    assert got.payload == payload
    assert (got.signed, got.encrypted) == (signing is not None, encryption is not None)
    assert got.compressed is (compression != Compression.NONE)
    assert (got.filename, got.content_type, got.subject) == (
        "po.x12",
        "application/xml",
        "AS2 Message",
    )
    assert (got.message_id, got.as2_from, got.as2_to) == (sent.message_id, "ALICE", "BOB")
    # The signature's MIC; unsigned, one over what came (test_mdn_mic_unsigned) for the MDN.
    assert (
        got.mic_alg == signing
        or (mode, got.mic_alg) == (None, None)
        or (signing is None and got.mic_alg == (mdn_signing or SigningAlg.SHA256))
    )
    assert (got.mic is None) == (got.mic_alg is None)
    if sent.mic is not None:  # we expect one whenever we signed and asked for a signed MDN
        assert (signing, mode, mdn_signing) != (None, None, None)
        assert (got.mic, sent.mic_alg) == (sent.mic, signing)
    if mode is None:
        assert got.mdn is None
        return
    assert got.mdn is not None
    assert (got.mdn.mode, got.mdn.signing) == (mode, mdn_signing)
    assert got.mdn.async_url == receiver.async_mdn_url

    answer = as2.build_mdn(got, local=bob, scheme=scheme)
    assert as2.is_mdn(answer.headers, answer.body)
    report = as2.parse_mdn(answer.headers, answer.body, verify_certs=[bob.signing.cert_pem])  # type: ignore[union-attr]
    assert (report.disposition, report.modifier) == ("processed", None)
    assert report.original_message_id == sent.message_id
    assert (report.as2_from, report.as2_to) == ("BOB", "ALICE")
    assert (report.signed, report.signature_valid) == (
        (True, True) if mdn_signing else (False, None)
    )
    assert (report.mic, report.mic_alg) == (got.mic, got.mic_alg)
