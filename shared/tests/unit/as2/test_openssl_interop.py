"""Interop with the openssl CLI, an S/MIME implementation we did not write."""

from __future__ import annotations

import email
import subprocess
from pathlib import Path

import pytest

from as2bus.shared import as2
from as2bus.shared.algorithms import SigningAlg, normalize_signing
from as2bus.shared.as2 import KeyPair, LocalParty, RemoteParty

EDI = b"ISA*00*          *00*          *ZZ*ALICE~\r\nST*850*0001~\r\nSE*2*0001~\r\n" * 30


def openssl(*args: object, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["openssl", *map(str, args)], input=stdin, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


class OpensslSender:
    def __init__(self, tmp: Path, own: KeyPair, recipient: KeyPair) -> None:
        self.tmp = tmp
        (tmp / "key.pem").write_bytes(own.key_pem)
        (tmp / "cert.pem").write_bytes(own.cert_pem)
        (tmp / "recipient.pem").write_bytes(recipient.cert_pem)

    def entity(self, inner_cte: bool = True) -> bytes:
        cte = "Content-Transfer-Encoding: binary\r\n" if inner_cte else ""
        disposition = 'Content-Disposition: attachment; filename="po.x12"\r\n'
        head = f"Content-Type: application/edi-x12\r\n{cte}{disposition}\r\n"
        return head.encode() + EDI

    def sign_encrypt(
        self, entity: bytes, md: str, cipher: str, *extra: str, outform: str = "DER"
    ) -> bytes:
        (self.tmp / "entity.mime").write_bytes(entity)
        openssl(
            "cms",
            "-sign",
            "-in",
            self.tmp / "entity.mime",
            "-signer",
            self.tmp / "cert.pem",
            "-inkey",
            self.tmp / "key.pem",
            "-md",
            md,
            "-binary",
            "-out",
            self.tmp / "signed.mime",
        )
        openssl(
            "cms",
            "-encrypt",
            "-in",
            self.tmp / "signed.mime",
            f"-{cipher}",
            "-binary",
            "-outform",
            outform,
            "-out",
            self.tmp / "enc.out",
            "-recip",
            self.tmp / "recipient.pem",
            *extra,  # -keyopt applies to the -recip before it
        )
        return (self.tmp / "enc.out").read_bytes()


def as2_headers(content_type: str, cte: str = "binary") -> dict[str, str]:
    return {
        "AS2-From": "ALICE",
        "AS2-To": "BOB",
        "Message-ID": "<openssl-1@alice>",
        "Content-Type": content_type,
        "Content-Transfer-Encoding": cte,
        "Disposition-Notification-To": "alice@example.com",
        "Disposition-Notification-Options": (
            "signed-receipt-protocol=optional, pkcs7-signature; "
            "signed-receipt-micalg=optional, sha-256"
        ),
    }


ENVELOPED = 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"'


@pytest.fixture
def sender(tmp_path: Path, alice_keys: KeyPair, bob_keys: KeyPair) -> OpensslSender:
    return OpensslSender(tmp_path, alice_keys, bob_keys)


def receive(
    bob: LocalParty, alice: RemoteParty, headers: dict[str, str], body: bytes
) -> as2.ReceivedMessage:
    return as2.parse_message(headers, body, lookup=lambda _f, _t: (bob, alice))


@pytest.mark.parametrize(
    ("md", "cipher"), [("sha256", "aes256"), ("sha1", "des3"), ("sha512", "aes128")]
)
def test_openssl_messages_are_received_byte_identical_with_the_right_mic(
    sender: OpensslSender, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, md: str, cipher: str
) -> None:
    entity = sender.entity()
    got = receive(
        bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), sender.sign_encrypt(entity, md, cipher)
    )
    assert got.payload == EDI
    assert got.filename == "po.x12"
    assert got.mic == as2.compute_mic(entity, normalize_signing(md))


@pytest.mark.parametrize("inner_cte", [True, False])
def test_base64_smime_output_with_and_without_inner_transfer_encoding(
    sender: OpensslSender, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, inner_cte: bool
) -> None:
    entity = sender.entity(inner_cte=inner_cte)
    smime = sender.sign_encrypt(entity, "sha256", "aes256", outform="SMIME")
    head, _, body = smime.replace(b"\r\n", b"\n").partition(b"\n\n")
    parsed = email.message_from_bytes(head + b"\n\n")
    headers = as2_headers(parsed["Content-Type"], cte="base64")
    got = receive(bob, alice_as_seen_by_bob, headers, body)
    assert got.payload == EDI
    assert got.mic == as2.compute_mic(entity, SigningAlg.SHA256)


def test_our_signed_mdn_verifies_with_openssl_and_reports_the_independent_mic(
    tmp_path: Path,
    sender: OpensslSender,
    bob: LocalParty,
    bob_keys: KeyPair,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    entity = sender.entity()
    got = receive(
        bob,
        alice_as_seen_by_bob,
        as2_headers(ENVELOPED),
        sender.sign_encrypt(entity, "sha256", "aes256"),
    )
    mdn = as2.build_mdn(got, local=bob)
    (tmp_path / "mdn.eml").write_bytes(
        f"Content-Type: {mdn.headers['Content-Type']}\r\n\r\n".encode() + mdn.body
    )
    (tmp_path / "bob.pem").write_bytes(bob_keys.cert_pem)
    report = openssl(
        "cms",
        "-verify",
        "-in",
        tmp_path / "mdn.eml",
        "-inform",
        "SMIME",
        "-CAfile",
        tmp_path / "bob.pem",
        "-purpose",
        "any",
    )
    fields = {k.lower(): v for k, v in email.message_from_bytes(report).items()}
    text = report.decode()
    assert "processed" in text
    assert as2.compute_mic(entity, SigningAlg.SHA256) in text
    assert fields  # the verified output is a MIME document


def test_what_we_send_decrypts_and_verifies_with_openssl(
    tmp_path: Path,
    alice: LocalParty,
    alice_keys: KeyPair,
    bob_keys: KeyPair,
    bob_as_seen_by_alice: RemoteParty,
) -> None:
    sent = as2.build_message(EDI, sender=alice, receiver=bob_as_seen_by_alice, filename="po.x12")
    (tmp_path / "enc.der").write_bytes(sent.body)
    (tmp_path / "bob.key").write_bytes(bob_keys.key_pem)
    (tmp_path / "bob.pem").write_bytes(bob_keys.cert_pem)
    (tmp_path / "alice.pem").write_bytes(alice_keys.cert_pem)
    signed = openssl(
        "cms",
        "-decrypt",
        "-in",
        tmp_path / "enc.der",
        "-inform",
        "DER",
        "-inkey",
        tmp_path / "bob.key",
        "-recip",
        tmp_path / "bob.pem",
        "-binary",
    )
    (tmp_path / "signed.mime").write_bytes(signed)
    # openssl's default (canonicalising) verify, as S/MIME stacks do; with -binary its SMIME
    # parser splits the parts differently and rejects any multipart/signed.
    entity = openssl(
        "cms",
        "-verify",
        "-in",
        tmp_path / "signed.mime",
        "-inform",
        "SMIME",
        "-CAfile",
        tmp_path / "alice.pem",
        "-purpose",
        "any",
    )
    assert entity.endswith(EDI)
    assert as2.compute_mic(entity, SigningAlg.SHA256) == sent.mic


def test_aes_gcm_is_refused_by_name(
    sender: OpensslSender, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    body = sender.sign_encrypt(sender.entity(), "sha256", "aes-256-gcm")
    with pytest.raises(as2.As2Error, match="AES-GCM") as err:
        receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert err.value.modifier == "decryption-failed"


def test_oaep_with_sha256_is_refused_by_name_and_oaep_sha1_works(
    sender: OpensslSender, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    oaep = ("-keyopt", "rsa_padding_mode:oaep")
    body = sender.sign_encrypt(
        sender.entity(), "sha256", "aes256", *oaep, "-keyopt", "rsa_oaep_md:sha256"
    )
    with pytest.raises(as2.As2Error, match="OAEP") as err:
        receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert err.value.modifier == "decryption-failed"
    sha1 = sender.sign_encrypt(sender.entity(), "sha256", "aes256", *oaep)
    assert receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), sha1).payload == EDI
