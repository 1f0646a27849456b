"""Our own build → parse → MDN → MDN parse, across the algorithm matrix we offer."""

from __future__ import annotations

import pytest

from as2bus.shared import as2
from as2bus.shared.algorithms import Compression, EncryptionAlg, SigningAlg, TransferEncoding
from as2bus.shared.as2 import LocalParty, RemoteParty

EDI = b"ISA*00*          *00*          *ZZ*ALICE~\r\nGS*PO*ALICE*BOB~\r\nST*850*0001~\r\n" * 40

MATRIX = [
    (SigningAlg.SHA1, EncryptionAlg.TRIPLE_DES, Compression.NONE, TransferEncoding.BINARY),
    (SigningAlg.SHA224, EncryptionAlg.AES128, Compression.BEFORE_SIGNING, TransferEncoding.BINARY),
    (SigningAlg.SHA256, EncryptionAlg.AES192, Compression.AFTER_SIGNING, TransferEncoding.BINARY),
    (SigningAlg.SHA384, EncryptionAlg.AES256, Compression.NONE, TransferEncoding.BASE64),
    (SigningAlg.SHA512, EncryptionAlg.AES256, Compression.BEFORE_SIGNING, TransferEncoding.BASE64),
    (SigningAlg.SHA256, None, Compression.NONE, TransferEncoding.BINARY),
    (None, EncryptionAlg.AES128, Compression.NONE, TransferEncoding.BINARY),
    (None, None, Compression.BEFORE_SIGNING, TransferEncoding.BINARY),
]


@pytest.mark.parametrize(("signing", "encryption", "compression", "encoding"), MATRIX)
def test_round_trip_with_a_signed_sync_mdn(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    signing: SigningAlg | None,
    encryption: EncryptionAlg | None,
    compression: Compression,
    encoding: TransferEncoding,
) -> None:
    receiver = RemoteParty(
        **{
            **bob_as_seen_by_alice.__dict__,
            "signing": signing,
            "encryption": encryption,
            "compression": compression,
            "encoding": encoding,
        }
    )
    sent = as2.build_message(EDI, sender=alice, receiver=receiver, filename="po.x12")
    expected_sender = RemoteParty(
        **{
            **alice_as_seen_by_bob.__dict__,
            "require_signed": signing is not None,
            "require_encrypted": encryption is not None,
        }
    )
    got = as2.parse_message(sent.headers, sent.body, lookup=lambda _f, _t: (bob, expected_sender))
    assert got.payload == EDI
    assert (got.signed, got.encrypted) == (signing is not None, encryption is not None)
    assert got.compressed is (compression != Compression.NONE)
    assert got.filename == "po.x12"
    assert got.message_id == sent.message_id
    if signing is not None:
        assert got.mic == sent.mic
        assert got.mic_alg == signing
    mdn = as2.build_mdn(got, local=bob)
    assert as2.is_mdn(mdn.headers, mdn.body)
    report = as2.parse_mdn(mdn.headers, mdn.body, verify_certs=[bob.signing.cert_pem])  # type: ignore[union-attr]
    assert report.disposition == "processed"
    assert report.original_message_id == sent.message_id
    assert report.signed
    assert report.signature_valid is True
    assert report.mic == sent.mic


def test_async_mdn_request_headers(alice: LocalParty, bob_as_seen_by_alice: RemoteParty) -> None:
    receiver = RemoteParty(
        **{
            **bob_as_seen_by_alice.__dict__,
            "mdn_mode": "async",
            "async_mdn_url": "https://alice.example/as2",
        }
    )
    sent = as2.build_message(b"x", sender=alice, receiver=receiver)
    summary = as2.summarize_request(sent.headers)
    assert summary.mdn is not None
    assert (summary.mdn.mode, summary.mdn.async_url) == ("async", "https://alice.example/as2")
    assert summary.mdn.signing == SigningAlg.SHA256


def test_a_negative_mdn_carries_the_modifier_and_no_mic(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    sent = as2.build_message(b"x", sender=alice, receiver=bob_as_seen_by_alice)
    summary = as2.summarize_request(sent.headers)
    error = as2.As2Error("decryption-failed", "not for us")
    mdn = as2.build_mdn(summary, local=bob, error=error)
    report = as2.parse_mdn(mdn.headers, mdn.body, verify_certs=[bob.signing.cert_pem])  # type: ignore[union-attr]
    assert (report.disposition, report.modifier, report.mic) == (
        "failed",
        "decryption-failed",
        None,
    )


def test_an_mdn_signed_by_someone_else_does_not_verify(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    sent = as2.build_message(b"x", sender=alice, receiver=bob_as_seen_by_alice)
    got = as2.parse_message(
        sent.headers, sent.body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)
    )
    mdn = as2.build_mdn(got, local=bob)
    report = as2.parse_mdn(mdn.headers, mdn.body, verify_certs=[alice.signing.cert_pem])  # type: ignore[union-attr]
    assert report.signed
    assert report.signature_valid is False


def test_something_that_is_not_an_mdn_is_refused() -> None:
    with pytest.raises(as2.MdnError):
        as2.parse_mdn({"Content-Type": "text/plain"}, b"hello", verify_certs=[])
