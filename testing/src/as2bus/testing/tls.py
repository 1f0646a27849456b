"""A private CA made by the tests, and the certificates real TLS tests need from it.

Server certificates (good, expired, for another host, self-signed) and client certificates
for mutual TLS, as PEM pairs; ``write_pair`` puts a pair in files as servers load them.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: (key PEM, certificate PEM)
Pair = tuple[bytes, bytes]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(key: rsa.RSAPrivateKey, cert: x509.Certificate) -> Pair:
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def _alt_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


class PrivateCa:
    """A CA of the test's own: its certificate (``cert_pem``) is what a party trusts."""

    def __init__(self, name: str = "as2bus test CA") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(UTC)
        public = self.key.public_key()
        self.cert = (
            x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self, *, host: str = "127.0.0.1", expired: bool = False, self_signed: bool = False
    ) -> Pair:
        """A server certificate for ``host`` (an IP address or a DNS name)."""
        return self._issue(host, ExtendedKeyUsageOID.SERVER_AUTH, [_alt_name(host)],
                           expired=expired, self_signed=self_signed)  # fmt: skip

    def issue_client(
        self, common_name: str, *, expired: bool = False, self_signed: bool = False
    ) -> Pair:
        """A TLS client certificate, for mutual TLS."""
        return self._issue(common_name, ExtendedKeyUsageOID.CLIENT_AUTH, [],
                           expired=expired, self_signed=self_signed)  # fmt: skip

    def _issue(
        self,
        subject: str,
        usage: x509.ObjectIdentifier,
        alt_names: list[x509.GeneralName],
        *,
        expired: bool,
        self_signed: bool,
    ) -> Pair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(UTC)
        start, end = now - timedelta(days=1), now + timedelta(days=30)
        if expired:
            start, end = now - timedelta(days=30), now - timedelta(days=1)
        issuer, signer = (_name(subject), key) if self_signed else (self.cert.subject, self.key)
        builder = (
            x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
        )  # fmt: skip
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        return _pem(key, builder.sign(signer, hashes.SHA256()))


def write_pair(directory: Path, name: str, pair: Pair) -> tuple[Path, Path]:
    """``<name>.key`` and ``<name>.pem`` in ``directory``: (key file, certificate file)."""
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.pem"
    key_file.write_bytes(pair[0])
    cert_file.write_bytes(pair[1])
    return key_file, cert_file


def certificate_sha256(cert_pem: bytes) -> str:
    """Hex SHA-256 of the certificate's DER (a certificate pin)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def public_key_sha256(cert_pem: bytes) -> str:
    """Hex SHA-256 of the certificate's SubjectPublicKeyInfo DER (a public-key pin)."""
    public = x509.load_pem_x509_certificate(cert_pem).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()
