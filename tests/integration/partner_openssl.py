"""A trading partner made of the openssl CLI: an S/MIME implementation we did not write."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import uuid
from pathlib import Path

from as2bus.cert import x509


def run(*args: str | Path, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["openssl", *map(str, args)], input=stdin, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


class OpensslPartner:
    def __init__(self, workdir: Path, as2_id: str, our_cert_pem: bytes, own: x509.OwnKey) -> None:
        self.dir = workdir
        self.as2_id = as2_id
        self.key = workdir / "partner.key.pem"
        self.cert = workdir / "partner.cert.pem"
        self.key.write_text(own.key_pem)
        self.cert.write_text(own.cert.cert_pem)
        self.recipient = workdir / "recipient.cert.pem"
        self.recipient.write_bytes(our_cert_pem)

    def mime_entity(self, payload: bytes, content_type: str = "application/edi-x12") -> bytes:
        return (
            f"Content-Type: {content_type}\r\n"
            "Content-Transfer-Encoding: binary\r\n"
            'Content-Disposition: attachment; filename="po.x12"\r\n\r\n'
        ).encode() + payload

    def signed_and_encrypted(
        self, payload: bytes, md: str = "sha256", cipher: str = "aes256"
    ) -> tuple[bytes, str]:
        """(DER enveloped-data body, the MIC a correct receiver reports, base64)."""
        entity = self.dir / "entity.mime"
        entity.write_bytes(self.mime_entity(payload))
        signed = self.dir / "signed.mime"
        run(
            "cms",
            "-sign",
            "-in",
            entity,
            "-signer",
            self.cert,
            "-inkey",
            self.key,
            "-md",
            md,
            "-binary",
            "-out",
            signed,
        )
        der = self.dir / "enc.der"
        run(
            "cms",
            "-encrypt",
            "-in",
            signed,
            f"-{cipher}",
            "-binary",
            "-outform",
            "DER",
            "-out",
            der,
            self.recipient,
        )
        mic = base64.b64encode(hashlib.new(md, entity.read_bytes()).digest()).decode()
        return der.read_bytes(), mic

    def headers(
        self, to: str, *, message_id: str | None = None, mic_alg: str = "sha-256"
    ) -> dict[str, str]:
        return {
            "AS2-Version": "1.2",
            "AS2-From": self.as2_id,
            "AS2-To": to,
            "Message-ID": message_id or f"<{uuid.uuid4()}@openssl.partner>",
            "Subject": "PO",
            "Content-Type": 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
            "Content-Transfer-Encoding": "binary",
            "Disposition-Notification-To": "edi@partner.example",
            "Disposition-Notification-Options": (
                "signed-receipt-protocol=optional, pkcs7-signature; "
                f"signed-receipt-micalg=optional, {mic_alg}"
            ),
        }

    def verify_mdn(self, content_type: str, body: bytes) -> bytes:
        """openssl cms -verify on our signed MDN, trusting our certificate; returns the report."""
        mdn = self.dir / "mdn.eml"
        mdn.write_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        return run(
            "cms",
            "-verify",
            "-in",
            mdn,
            "-inform",
            "SMIME",
            "-CAfile",
            self.recipient,
            "-purpose",
            "any",
        )
