"""MDNs: what we build for each outcome, and partners' MDNs as they really come."""

from __future__ import annotations

import base64

import pytest

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, RemoteParty
from as2bus.as2.algorithms import SigningAlg
from as2bus.peers import pyas2lib_peer

from .conftest import EDI, OpensslPeer, replace

ORIGINAL = "<po-1@alice>"


SIGNED_SHA256 = (
    "signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256"
)


def request(options: str | None = SIGNED_SHA256) -> as2.RequestSummary:
    headers = {
        "AS2-From": "ALICE",
        "AS2-To": "BOB",
        "Message-ID": ORIGINAL,
        "Disposition-Notification-To": "alice@example.com",
    }
    if options is not None:
        headers["Disposition-Notification-Options"] = options
    return as2.summarize_request(headers)


def received(signing: SigningAlg | None = SigningAlg.SHA256) -> as2.ReceivedMessage:
    summary = request()
    return as2.ReceivedMessage(
        message_id=ORIGINAL,
        as2_from="ALICE",
        as2_to="BOB",
        payload=b"x",
        filename=None,
        content_type="application/edi-x12",
        subject=None,
        signed=signing is not None,
        encrypted=True,
        compressed=False,
        mic="bWlj" if signing else None,
        mic_alg=signing,
        mdn=summary.mdn,
    )


def read(mdn: as2.OutgoingMdn, certs: list[bytes]) -> as2.ReceivedMdn:
    assert as2.is_mdn(mdn.headers, mdn.body)
    return as2.parse_mdn(mdn.headers, mdn.body, verify_certs=certs)


def test_a_positive_mdn_and_the_headers_of_the_answer(bob: LocalParty, bob_keys: KeyPair) -> None:
    mdn = as2.build_mdn(received(SigningAlg.SHA384), local=bob)
    h = mdn.headers
    assert (h["AS2-From"], h["AS2-To"], h["AS2-Version"], h["MIME-Version"]) == (
        "BOB",
        "ALICE",
        "1.2",
        "1.0",
    )
    assert h["Message-ID"].startswith("<")
    assert h["Message-ID"] != ORIGINAL
    assert h["Content-Type"].startswith("multipart/signed; protocol=")
    assert "micalg=sha-256" in h["Content-Type"]  # the MDN signed with what was asked for
    assert int(h["Content-Length"]) == len(mdn.body)
    report = read(mdn, [bob_keys.cert_pem])
    assert (report.disposition, report.modifier, report.original_message_id) == (
        "processed",
        None,
        ORIGINAL,
    )
    # The MIC with the message's algorithm, whatever signed the MDN.
    assert (report.mic, report.mic_alg) == ("bWlj", SigningAlg.SHA384)
    assert (report.signed, report.signature_valid, report.as2_from) == (True, True, "BOB")
    assert "received and processed" in (report.text or "")


def test_a_warning_keeps_the_mic(bob: LocalParty, bob_keys: KeyPair) -> None:
    report = read(
        as2.build_mdn(received(), local=bob, warning="duplicate-document"), [bob_keys.cert_pem]
    )
    assert (report.disposition, report.modifier, report.mic) == (
        "processed/warning",
        "duplicate-document",
        "bWlj",
    )


def test_an_error_says_processed_error_with_the_modifier_and_the_reason(
    bob: LocalParty, bob_keys: KeyPair
) -> None:
    error = as2.As2Error("authentication-failed", "the signature does not verify")
    mdn = as2.build_mdn(received(), local=bob, error=error)
    disposition = b"automatic-action/MDN-sent-automatically; processed/error: authentication-failed"
    assert b"Disposition: " + disposition + b"\r\n" in mdn.body
    report = read(mdn, [bob_keys.cert_pem])
    assert (report.disposition, report.modifier, report.mic) == (
        "failed",
        "authentication-failed",
        None,
    )
    assert "the signature does not verify" in (report.text or "")


def test_a_required_mic_algorithm_we_lack_gets_failed(bob: LocalParty, bob_keys: KeyPair) -> None:
    """RFC 4130 §7.5.3: "failed/Failure: unsupported MIC-algorithms"; the message itself is
    refused (nothing delivered), and the MDN goes unsigned since we cannot sign as required."""
    summary = request(
        "signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, md5"
    )
    assert summary.mdn is not None
    assert (summary.mdn.signing, summary.mdn.failure) == (None, "unsupported MIC-algorithms")
    with pytest.raises(as2.As2Error, match="unsupported MIC-algorithms"):
        as2.parse_message(
            {
                "Message-ID": ORIGINAL,
                "AS2-From": "ALICE",
                "AS2-To": "BOB",
                "Disposition-Notification-To": "a",
                "Disposition-Notification-Options": "signed-receipt-micalg=required, md5",
            },
            b"x",
            lookup=lambda _f, _t: (bob, RemoteParty("ALICE")),
        )
    mdn = as2.build_mdn(summary, local=bob, error=as2.As2Error("unexpected-processing-error", "x"))
    assert b"; failed/Failure: unsupported MIC-algorithms\r\n" in mdn.body
    report = read(mdn, [bob_keys.cert_pem])
    assert (report.disposition, report.modifier, report.signed) == (
        "failed",
        "unsupported MIC-algorithms",
        False,
    )


@pytest.mark.parametrize(
    ("options", "signing", "failure"),
    [
        (
            "signed-receipt-protocol=optional, pkcs7-signature; "
            "signed-receipt-micalg=optional, sha1, md5",
            SigningAlg.SHA1,
            None,
        ),
        (
            "signed-receipt-protocol=optional,pkcs7-signature;signed-receipt-micalg=optional,md5,SHA-512",
            SigningAlg.SHA512,
            None,
        ),
        (
            "signed-receipt-protocol=optional, pkcs7-signature; "
            "signed-receipt-micalg=optional, md5",
            SigningAlg.SHA256,
            None,
        ),
        ("signed-receipt-protocol=required, pkcs7-signature", SigningAlg.SHA256, None),
        (
            "signed-receipt-protocol=required, pgp-signature; signed-receipt-micalg=optional, sha1",
            None,
            "unsupported format",
        ),
        (
            "signed-receipt-protocol=optional, pgp-signature; signed-receipt-micalg=optional, sha1",
            None,
            None,
        ),
        (None, None, None),
    ],
)
def test_what_mdn_signature_the_sender_asked_for(
    options: str | None, signing: SigningAlg | None, failure: str | None
) -> None:
    summary = request(options)
    assert summary.mdn is not None
    assert (summary.mdn.signing, summary.mdn.failure, summary.mdn.mode) == (
        signing,
        failure,
        "sync",
    )


def test_summaries_never_raise_and_read_any_header_case() -> None:
    summary = as2.summarize_request(
        {
            "as2-from": '"ACME \\"Corp\\""',
            "AS2-TO": "MYCO",
            "message-id": " <1@x> ",
            "RECEIPT-DELIVERY-OPTION": "https://acme/mdn",
            "disposition-notification-to": "x",
        }
    )
    assert (summary.as2_from, summary.as2_to, summary.message_id) == (
        'ACME "Corp"',
        "MYCO",
        "<1@x>",
    )
    assert summary.mdn is not None
    assert (summary.mdn.mode, summary.mdn.async_url) == ("async", "https://acme/mdn")
    assert as2.summarize_request({}) == as2.RequestSummary(None, None, None, None)
    assert as2.summarize_request(None).mdn is None  # type: ignore[arg-type]


def test_an_unsigned_mdn_when_unsigned_was_asked_or_we_have_no_key(bob: LocalParty) -> None:
    for req, local in (
        (request(None), bob),
        (request(), replace(bob, signing=None)),
        (request(), None),
    ):
        report = read(as2.build_mdn(req, local=local), [])
        assert (report.signed, report.signature_valid, report.disposition) == (
            False,
            None,
            "processed",
        )


def test_no_mdn_asked_means_none_can_be_built(bob: LocalParty) -> None:
    with pytest.raises(ValueError, match="no MDN"):
        as2.build_mdn(as2.summarize_request({"Message-ID": "<x>"}), local=bob)


def test_an_mdn_signed_by_someone_else_or_altered_does_not_verify(
    bob: LocalParty, alice_keys: KeyPair, bob_keys: KeyPair
) -> None:
    mdn = as2.build_mdn(received(), local=bob)
    assert read(mdn, [alice_keys.cert_pem]).signature_valid is False
    assert read(mdn, [alice_keys.cert_pem]).verified_by is None
    assert read(mdn, []).signature_valid is False
    # With several certificates in service (a rotation), the report says which one verified.
    assert read(mdn, [alice_keys.cert_pem, bob_keys.cert_pem]).verified_by == bob_keys.cert_pem
    altered = replace(mdn, body=mdn.body.replace(b"; processed\r\n", b"; processed \r\n"))
    assert read(altered, [bob_keys.cert_pem]).signature_valid is False


# Partners' MDNs, as they come.
REPORT = (
    b"--B\n"
    b"Content-Type: text/plain\n\nYour message was received.\n"
    b"--B\n"
    b"Content-Type: message/disposition-notification\n\n"
    b"reporting-ua: Other AS2\nfinal-recipient: rfc822; BOB\n"
    b"original-message-id: po-1@alice\n"
    b"disposition: automatic-action/MDN-sent-automatically;\n"
    b" processed/Warning: duplicate-document\n"
    b"received-content-mic: bWlj , SHA1\n"
    b"--B--\n"
)
REPORT_TYPE = 'multipart/report; report-type="disposition-notification"; boundary="B"'


def test_a_partners_mdn_with_lf_lines_folding_no_original_recipient_and_odd_case() -> None:
    report = as2.parse_mdn(
        {"content-type": REPORT_TYPE, "as2-from": "BOB"}, REPORT, verify_certs=[]
    )
    assert (report.original_message_id, report.disposition, report.modifier) == (
        ORIGINAL,
        "processed/warning",
        "duplicate-document",
    )
    assert (report.mic, report.mic_alg, report.text, report.signed) == (
        "bWlj",
        SigningAlg.SHA1,
        "Your message was received.",
        False,
    )


def test_a_partners_mdn_with_parts_reversed_base64_and_no_closing_boundary() -> None:
    fields = (
        b"Original-Message-ID: <po-1@alice>\r\n"
        b"Disposition: automatic-action/MDN-sent-automatically;"
        b" processed/error: decryption-failed\r\n"
    )
    body = (
        b"--B\r\nContent-Type: message/disposition-notification\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(fields)
        + b"\r\n--B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
    )
    report = as2.parse_mdn({"Content-Type": REPORT_TYPE}, body, verify_certs=[])
    assert (report.disposition, report.modifier, report.text, report.mic) == (
        "failed",
        "decryption-failed",
        "Sorry.",
        None,
    )


def test_a_disposition_part_labelled_text_plain_and_the_content_type_only_in_the_body() -> None:
    body = f"Content-Type: {REPORT_TYPE}\r\n\r\n".encode() + REPORT.replace(
        b"message/disposition-notification", b"text/plain"
    )
    report = as2.parse_mdn({"AS2-From": "BOB"}, body, verify_certs=[])
    assert (report.original_message_id, report.mic) == (ORIGINAL, "bWlj")


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ("automatic-action/MDN-sent-automatically; processed", ("processed", None)),
        ("processed", ("processed", None)),
        (
            "automatic-action/MDN-sent-automatically; failed/Failure: unsupported MIC-algorithms",
            ("failed", "unsupported MIC-algorithms"),
        ),
        ("automatic-action/MDN-sent-automatically; processed/Error", ("failed", "processed/error")),
        ("automatic-action/MDN-sent-automatically; deleted", ("failed", "deleted")),
    ],
)
def test_dispositions(disposition: str, expected: tuple[str, str | None]) -> None:
    body = REPORT.replace(
        b"disposition: automatic-action/MDN-sent-automatically;\n"
        b" processed/Warning: duplicate-document",
        b"disposition: " + disposition.encode(),
    )
    report = as2.parse_mdn({"Content-Type": REPORT_TYPE}, body, verify_certs=[])
    assert (report.disposition, report.modifier) == expected


def test_no_disposition_at_all_is_a_failure_not_a_success() -> None:
    body = (
        b"--B\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Original-Message-ID: <x>\r\n--B--\r\n"
    )
    report = as2.parse_mdn({"Content-Type": REPORT_TYPE}, body, verify_certs=[])
    assert (report.disposition, report.modifier) == ("failed", "the MDN has no Disposition")


def test_what_is_not_an_mdn() -> None:
    cases = [
        ({"Content-Type": "text/plain"}, b"hello"),
        (
            {"Content-Type": 'multipart/signed; boundary="S"'},
            b"--S\r\nContent-Type: application/edi-x12\r\n\r\nx\r\n--S--\r\n",
        ),
        ({"Content-Type": "application/pkcs7-mime; smime-type=signed-data"}, b"\x30\x03garbage"),
        (
            {"Content-Type": REPORT_TYPE},
            b"--B\r\nContent-Type: text/plain\r\n\r\nno fields\r\n--B--\r\n",
        ),
        ({}, b"\x00\x01binary"),
    ]
    for headers, body in cases:
        assert not as2.is_mdn(headers, body) or headers.get("Content-Type") == REPORT_TYPE
        with pytest.raises(as2.MdnError):
            as2.parse_mdn(headers, body, verify_certs=[])


def test_openssl_signed_mdns_lf_x_pkcs7_and_opaque(peer: OpensslPeer, alice_keys: KeyPair) -> None:
    """Signed by openssl (as ALICE): LF line ends as openssl writes them (text-mode signature
    over CRLF), the x-pkcs7-signature spelling, and an opaque pkcs7-mime signed-data MDN."""
    entity = f"Content-Type: {REPORT_TYPE}\r\n\r\n".encode() + REPORT.replace(b"\n", b"\r\n")
    detached = peer.sign(entity, "sha256", binary=False).replace(b"\r\n", b"\n")
    x_pkcs7 = detached.replace(b"application/pkcs7-signature", b"application/x-pkcs7-signature")
    for smime in (detached, x_pkcs7):
        head, _, body = smime.partition(b"\n\n")
        content_type = head.decode().split("Content-Type: ")[1].split("\n")[0]
        assert as2.is_mdn({"Content-Type": content_type}, body)
        report = as2.parse_mdn(
            {"Content-Type": content_type}, body, verify_certs=[alice_keys.cert_pem]
        )
        assert (report.signed, report.signature_valid, report.original_message_id) == (
            True,
            True,
            ORIGINAL,
        )
    opaque = peer.sign(entity, "sha256", "-nodetach", "-outform", "DER")
    headers = {"Content-Type": "application/pkcs7-mime; smime-type=signed-data"}
    assert as2.is_mdn(headers, opaque)
    report = as2.parse_mdn(headers, opaque, verify_certs=[alice_keys.cert_pem])
    assert (report.signed, report.signature_valid, report.disposition) == (
        True,
        True,
        "processed/warning",
    )


def test_pyas2lib_reads_our_mdns_and_we_read_its(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    """pyas2lib (as in django-pyas2) as the partner, in both directions."""
    message = pyas2lib_peer.pyas2.Message(
        pyas2lib_peer.to_organization(alice), pyas2lib_peer.to_partner(bob_as_seen_by_alice)
    )
    message.build(EDI, content_type="application/octet-stream")
    sent = pyas2lib_peer.to_outgoing(message)
    got = as2.parse_message(
        sent.headers, sent.body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)
    )
    ours = as2.build_mdn(got, local=bob)
    raw = "".join(f"{k}: {v}\r\n" for k, v in ours.headers.items()).encode() + b"\r\n" + ours.body
    status, detail = pyas2lib_peer.pyas2.Mdn().parse(raw, find_message_cb=lambda _m, _r: message)
    assert (status, detail) == ("processed", None)  # signature and MIC checked by pyas2lib

    ours_sent = as2.build_message(EDI, sender=alice, receiver=bob_as_seen_by_alice)
    raw = (
        "".join(f"{k}: {v}\r\n" for k, v in ours_sent.headers.items()).encode()
        + b"\r\n"
        + ours_sent.body
    )
    theirs = pyas2lib_peer.pyas2.Message()
    status, (error, _), mdn = theirs.parse(
        raw,
        find_org_partner_cb=lambda _o, _p: (
            pyas2lib_peer.to_organization(bob),
            pyas2lib_peer.to_partner(alice_as_seen_by_bob),
        ),
    )
    assert (status, error) == ("processed", None)
    assert theirs.payload.get_payload(decode=True) == EDI
    report = as2.parse_mdn(mdn.headers, mdn.content, verify_certs=[bob.signing.cert_pem])  # type: ignore[union-attr]
    assert (report.disposition, report.signature_valid, report.mic) == (
        "processed",
        True,
        ours_sent.mic,
    )
