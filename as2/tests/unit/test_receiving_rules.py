"""What a receiver refuses, and how: each with the RFC disposition modifier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, RemoteParty, cms, mime, verify
from as2bus.as2.algorithms import Compression, EncryptionAlg, SigningAlg
from as2bus.as2.streaming import Streamer

from .conftest import EDI, replace


def parse(
    sent: as2.OutgoingMessage, me: LocalParty, them: RemoteParty, **kw: int
) -> as2.ReceivedMessage:
    return as2.parse_message(sent.headers, sent.body, lookup=lambda _f, _t: (me, them), **kw)


def refused(
    sent: as2.OutgoingMessage, me: LocalParty, them: RemoteParty, **kw: int
) -> as2.As2Error:
    with pytest.raises(as2.As2Error) as err:
        parse(sent, me, them, **kw)
    return err.value


def test_a_signature_by_an_unknown_key_is_authentication_failed(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty, stranger_keys: KeyPair
) -> None:
    sent = as2.build_message(b"x", sender=alice, receiver=bob_as_seen_by_alice)
    wrong = RemoteParty(as2_id="ALICE", verify_certs=[stranger_keys.cert_pem])
    assert refused(sent, bob, wrong).modifier == "authentication-failed"


def test_with_no_partner_certificate_in_service_a_signed_message_is_authentication_failed(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    sent = as2.build_message(b"x", sender=alice, receiver=bob_as_seen_by_alice)
    error = refused(sent, bob, RemoteParty(as2_id="ALICE", verify_certs=[]))  # e.g. expired
    assert (error.modifier, error.reason) == (
        "authentication-failed",
        "no partner certificate is in service",
    )


def test_a_message_for_another_key_is_decryption_failed(
    alice: LocalParty, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, stranger_keys: KeyPair
) -> None:
    to_stranger = RemoteParty(as2_id="BOB", encrypt_cert=stranger_keys.cert_pem)
    sent = as2.build_message(b"x", sender=alice, receiver=to_stranger)
    assert refused(sent, bob, alice_as_seen_by_bob).modifier == "decryption-failed"
    no_keys = replace(bob, decryption=[])
    error = refused(sent, no_keys, alice_as_seen_by_bob)
    assert (error.modifier, error.reason) == (
        "decryption-failed",
        "no decryption key of ours is in service",
    )


@pytest.mark.parametrize("change", [{"signing": None}, {"encryption": None}])
def test_unsigned_or_unencrypted_when_required_is_insufficient_security(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    change: dict[str, None],
) -> None:
    sent = as2.build_message(b"x", sender=alice, receiver=replace(bob_as_seen_by_alice, **change))
    assert refused(sent, bob, alice_as_seen_by_bob).modifier == "insufficient-message-security"


def test_compressed_but_unencrypted_when_encryption_is_required(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    """A pkcs7-mime body that is not enveloped must not pass for encrypted."""
    receiver = replace(bob_as_seen_by_alice, encryption=None, compression=Compression.AFTER_SIGNING)
    sent = as2.build_message(b"x", sender=alice, receiver=receiver)
    assert sent.headers["Content-Type"].startswith("application/pkcs7-mime")
    assert refused(sent, bob, alice_as_seen_by_bob).modifier == "insufficient-message-security"


def test_during_a_rotation_old_and_new_keys_decrypt_and_old_and_new_certs_verify(
    alice: LocalParty,
    alice_keys: KeyPair,
    bob_keys: KeyPair,
    stranger_keys: KeyPair,
    bob_as_seen_by_alice: RemoteParty,
) -> None:
    sent = as2.build_message(b"rotating", sender=alice, receiver=bob_as_seen_by_alice)
    # Bob now holds a new key (stranger's) first and the old one second; Alice's new
    # certificate is listed before her old one.
    rotating = LocalParty(as2_id="BOB", signing=stranger_keys, decryption=[stranger_keys, bob_keys])
    two_certs = RemoteParty(
        as2_id="ALICE", verify_certs=[stranger_keys.cert_pem, alice_keys.cert_pem]
    )
    got = parse(sent, rotating, two_certs)
    assert got.payload == b"rotating"
    assert got.verified_by == alice_keys.cert_pem  # the record names the one that verified


def test_truncated_or_garbage_bodies_are_unexpected_processing_errors(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    sent = as2.build_message(b"x" * 2000, sender=alice, receiver=bob_as_seen_by_alice)
    for body in (sent.body[: len(sent.body) // 2], sent.body[:-1], b"\x00garbage", b"   "):
        broken = replace(sent, body=body)
        assert refused(broken, bob, alice_as_seen_by_bob).modifier == "unexpected-processing-error"


def test_a_truncated_signed_multipart_is_unexpected_processing_error(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    sent = as2.build_message(
        EDI, sender=alice, receiver=replace(bob_as_seen_by_alice, encryption=None)
    )
    them = replace(alice_as_seen_by_bob, require_encrypted=False)
    error = refused(replace(sent, body=sent.body[:-300]), bob, them)
    assert error.modifier == "unexpected-processing-error"
    assert "truncated" in error.reason


def test_decompression_is_bounded(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    bomb = b"\0" * (4 * 1024 * 1024)  # compresses to a few KB
    receiver = replace(bob_as_seen_by_alice, compression=Compression.BEFORE_SIGNING)
    sent = as2.build_message(bomb, sender=alice, receiver=receiver)
    assert len(sent.body) < 64 * 1024
    error = refused(sent, bob, alice_as_seen_by_bob, max_payload_bytes=1024 * 1024)
    assert error.modifier == "unexpected-processing-error"
    assert error.reason == "the decompressed content exceeds the limit of 1048576 bytes"
    assert parse(sent, bob, alice_as_seen_by_bob, max_payload_bytes=8 * 1024 * 1024).payload == bomb


def test_an_uncompressed_document_over_the_limit_is_refused(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    sent = as2.build_message(b"x" * 5000, sender=alice, receiver=bob_as_seen_by_alice)
    error = refused(sent, bob, alice_as_seen_by_bob, max_payload_bytes=4999)
    assert (error.modifier, error.reason) == (
        "unexpected-processing-error",
        "the document exceeds 4999 bytes",
    )


def test_layers_nested_twice_are_refused(
    bob_keys: KeyPair, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    """Two compressions (a chain of zip bombs, each under the limit) are not AS2."""
    inner = mime.render([("Content-Type", "application/edi-x12")], b"x" * 1000)
    for _ in range(2):
        inner = mime.render(
            [("Content-Type", "application/pkcs7-mime; smime-type=compressed-data")],
            cms.compress(inner),
        )
    body = cms.encrypt(inner, EncryptionAlg.AES128, bob_keys.cert_pem)
    headers = {
        "AS2-From": "ALICE",
        "AS2-To": "BOB",
        "Message-ID": "<n@a>",
        "Content-Type": "application/pkcs7-mime; smime-type=enveloped-data",
    }
    them = replace(alice_as_seen_by_bob, require_signed=False)
    with pytest.raises(as2.As2Error, match="compressed more than once"):
        as2.parse_message(headers, body, lookup=lambda _f, _t: (bob, them))


def test_content_encrypted_without_mime_headers_is_delivered_whole(
    bob_keys: KeyPair, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    body = cms.encrypt(EDI, EncryptionAlg.AES256, bob_keys.cert_pem)
    headers = {
        "as2-from": "ALICE",
        "as2-to": "BOB",
        "message-id": "<raw@a>",
        "content-type": "application/pkcs7-mime",
    }
    them = replace(alice_as_seen_by_bob, require_signed=False)
    got = as2.parse_message(headers, body, lookup=lambda _f, _t: (bob, them))
    assert (got.payload, got.content_type, got.filename) == (EDI, "application/octet-stream", None)


def test_headers_without_as2_ids_are_refused(
    bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    with pytest.raises(as2.As2Error, match="AS2-From"):
        as2.parse_message(
            {"Message-ID": "<x>"}, b"x", lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)
        )


def test_an_unknown_partner_is_the_lookups_answer(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    sent = as2.build_message(b"x", sender=alice, receiver=bob_as_seen_by_alice)

    def lookup(as2_from: str, as2_to: str) -> tuple[LocalParty, RemoteParty]:
        raise as2.UnknownPartyError(f"{as2_from} → {as2_to}")

    with pytest.raises(as2.UnknownPartyError) as err:
        as2.parse_message(sent.headers, sent.body, lookup=lookup)
    assert (err.value.modifier, err.value.reason) == ("unknown-trading-partner", "ALICE → BOB")


def test_a_partners_file_name_loses_its_directories(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    for name, delivered in (
        ("../../etc/passwd", "passwd"),
        ("C:\\edi\\po.x12", "po.x12"),
        ("..", None),
        ("bücher 1.x12", "bücher 1.x12"),
    ):
        sent = as2.build_message(b"x", sender=alice, receiver=bob_as_seen_by_alice, filename=name)
        assert parse(sent, bob, alice_as_seen_by_bob).filename == delivered


def test_what_cannot_go_into_headers_is_refused_when_building(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    with pytest.raises(ValueError, match="one line"):
        as2.build_message(
            b"x", sender=alice, receiver=bob_as_seen_by_alice, subject="a\r\nX-Evil: 1"
        )
    with pytest.raises(ValueError, match="AS2 name"):
        as2.build_message(
            b"x", sender=replace(alice, as2_id="x" * 129), receiver=bob_as_seen_by_alice
        )
    with pytest.raises(ValueError, match="async_mdn_url"):
        as2.build_message(
            b"x", sender=alice, receiver=replace(bob_as_seen_by_alice, mdn_mode="async")
        )
    with pytest.raises(ValueError, match="needs a key"):
        as2.build_message(b"x", sender=replace(alice, signing=None), receiver=bob_as_seen_by_alice)


def test_build_headers_and_the_mic_we_expect(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    receiver = replace(bob_as_seen_by_alice, as2_id="BOB CORP", mdn_signing=SigningAlg.SHA1)
    sent = as2.build_message(
        b"x",
        sender=alice,
        receiver=receiver,
        message_id="abc@alice",
        receipt_to="mailto:as2@alice.example",
    )
    h = sent.headers
    assert (sent.message_id, h["Message-ID"], h["AS2-To"], h["AS2-Version"]) == (
        "<abc@alice>",
        "<abc@alice>",
        '"BOB CORP"',
        "1.2",
    )
    assert h["Disposition-Notification-To"] == "mailto:as2@alice.example"
    assert h["Disposition-Notification-Options"] == (
        "signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, sha1"
    )
    assert h["Content-Type"].startswith("application/pkcs7-mime; smime-type=enveloped-data")
    assert "Receipt-Delivery-Option" not in h
    assert (sent.mic is not None, sent.mic_alg) == (True, SigningAlg.SHA256)
    unsigned_mdn = as2.build_message(
        b"x", sender=alice, receiver=replace(receiver, mdn_signing=None)
    )
    assert (unsigned_mdn.mic, "Disposition-Notification-Options" in unsigned_mdn.headers) == (
        None,
        False,
    )
    no_mdn = as2.build_message(b"x", sender=alice, receiver=replace(receiver, mdn_mode=None))
    assert (no_mdn.mic, "Disposition-Notification-To" in no_mdn.headers) == (None, False)


@pytest.mark.parametrize(("required", "importance"), [(True, "required"), (False, "optional")])
def test_the_mdn_signature_is_asked_for_as_required_or_optional(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty, required: bool, importance: str
) -> None:
    """RFC 4130 §7.3: a preferred signature is asked as optional, a required one as required;
    the MIC to check is expected either way (a partner may sign, or return it unsigned)."""
    receiver = replace(bob_as_seen_by_alice, mdn_signing_required=required)
    for sent in (
        as2.build_message(b"x", sender=alice, receiver=receiver),
        Streamer(1, sender=alice, receiver=receiver).plan(),
    ):
        assert sent.headers["Disposition-Notification-Options"] == (
            f"signed-receipt-protocol={importance}, pkcs7-signature; "
            f"signed-receipt-micalg={importance}, sha-256"
        )


def test_the_crlf_form_of_signed_content_is_only_made_when_needed(
    alice_keys: KeyPair,
) -> None:
    """Making the canonical copy of a large document costs time and memory: only on mismatch."""
    content = b"Content-Type: text/plain\r\n\r\nline\n"
    signature = cms.sign(content, SigningAlg.SHA256, alice_keys)
    produced: list[bytes] = []

    def candidates() -> Iterator[bytes]:
        for candidate in (content, b"never needed"):
            produced.append(candidate)
            yield candidate

    assert verify.verify(candidates(), signature, [alice_keys.cert_pem]).content == content
    assert produced == [content]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "must be an http or https URL: an asynchronous MDN is not posted "
         "to a file: URL"),
        ("ftp://acme.example/mdn", "not posted to a ftp: URL"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "not posted to a gopher: URL"),
        ("/as2/mdn", "must be an http or https URL"),
        ("https:///as2/mdn", "names no host"),
        ("http://acme.example:http/mdn", "not a URL an asynchronous MDN can be posted to"),
    ],
)  # fmt: skip
def test_a_receipt_delivery_option_that_can_never_be_posted_to_is_refused_on_arrival(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    url: str,
    why: str,
) -> None:
    sent = as2.build_message(
        b"x",
        sender=alice,
        receiver=replace(bob_as_seen_by_alice, mdn_mode="async", async_mdn_url="https://a.example"),
    )
    headers = {**sent.headers, "Receipt-Delivery-Option": url}
    with pytest.raises(as2.As2Error) as err:
        as2.parse_message(headers, sent.body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob))
    assert err.value.modifier == "unexpected-processing-error"
    assert why in err.value.reason


def test_an_http_or_https_receipt_delivery_option_is_taken(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    for url in ("http://acme.example/mdn", "HTTPS://acme.example:8443/as2/mdn?x=1"):
        receiver = replace(bob_as_seen_by_alice, mdn_mode="async", async_mdn_url=url)
        sent = as2.build_message(b"x", sender=alice, receiver=receiver)
        mdn = parse(sent, bob, alice_as_seen_by_bob).mdn
        assert mdn is not None
        assert (mdn.mode, mdn.async_url) == ("async", url)


def test_control_characters_in_a_partners_file_name_are_replaced(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    """A name shown in an operator's terminal must not carry escape sequences (colours, a
    window title, hidden text) or bidirectional controls (a name that reads backwards): every
    C0 and C1 control character, and every bidirectional one, becomes "_"."""
    for name, delivered in (
        ("esc\x1b[31mRED\x1b[0m.x12", "esc_[31mRED_[0m.x12"),
        ("bell\x07\x7f.x12", "bell__.x12"),
        ("csi\x9b2J.x12", "csi_2J.x12"),
        ("tab\there.x12", "tab_here.x12"),
        # A right-to-left override would show "invoice_fdp.exe" as "invoiceexe.pdf".
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),
        ("a\u2066b\u2069\u200f\u061c.x12", "a_b___.x12"),
    ):
        sent = as2.build_message(b"x", sender=alice, receiver=bob_as_seen_by_alice, filename=name)
        assert parse(sent, bob, alice_as_seen_by_bob).filename == delivered
