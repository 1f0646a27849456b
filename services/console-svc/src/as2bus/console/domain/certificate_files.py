"""A first look at a partner's certificate file before Create Cert stores anything.

cert-svc is the judge of certificates, and Create Cert needs two of its calls (the keystore,
then the partner's certificate: cert-svc has no call taking both). So that the second call is
not refused after the first has stored the keystore, the console first checks the file the way
cert-svc's partner upload does (x509.load_partner_certificate and check_dates with the default
2048-bit minimum), with the same words, and finds out whether cert-svc already holds it. What
this cannot foresee (a larger minimum key size configured in cert-svc, another request at the
same moment) is reported as such on the keystore page; see keystore_creation.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

#: cert-svc's limits: at most 1 MiB per upload, RSA keys of at least 2048 bits by default.
MAX_FILE_BYTES = 1_048_576
MIN_KEY_BITS = 2048
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
_PARTNER_ONLY = "upload only the partner's public certificate (PEM or DER)"


class CertificateFileError(ValueError):
    """The file would be refused; the message says why, for a person."""


@dataclass(frozen=True)
class PartnerCertificate:
    fingerprint: str  # SHA-256, cert-svc's form AB:CD:...
    subject: str
    not_after: datetime


def check_partner_certificate(data: bytes, name: str, now: datetime) -> PartnerCertificate:
    """The certificate in ``data`` (PEM or DER), or CertificateFileError saying what is wrong."""
    name = name or "the file"
    if not data:
        raise CertificateFileError(f"{name} is empty; choose the partner's certificate file")
    if len(data) > MAX_FILE_BYTES:
        raise CertificateFileError(
            f"{name} is larger than 1 MiB: a certificate is a few KB, so this is probably not "
            "the right file"
        )
    labels = [m.decode() for m in _PEM_LABEL.findall(data)]
    if any("PRIVATE KEY" in label for label in labels) or _is_der_key(data):
        raise CertificateFileError(f"{name} holds a private key; {_PARTNER_ONLY}")
    if labels and labels.count("CERTIFICATE") != 1:
        found = (
            f"{labels.count('CERTIFICATE')} certificates"
            if "CERTIFICATE" in labels
            else f"no certificate (found: {', '.join(dict.fromkeys(labels))})"
        )
        raise CertificateFileError(
            f"{name} is a PEM file holding {found}; upload the partner's own certificate alone"
        )
    try:
        cert = (x509.load_pem_x509_certificate if labels else x509.load_der_x509_certificate)(data)
    except ValueError:
        raise CertificateFileError(
            f"{name} is not a certificate: expected a PEM or DER X.509 certificate "
            "(.cer/.crt/.pem); ask the partner for its public certificate"
        ) from None
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise CertificateFileError(
            f"{name}'s public key is not RSA; AS2 here uses RSA keys only, so an RSA "
            "certificate is needed"
        )
    if key.key_size < MIN_KEY_BITS:
        raise CertificateFileError(
            f"{name}'s public key is a {key.key_size}-bit key; at least {MIN_KEY_BITS} bits "
            "required, so a certificate with a longer RSA key is needed"
        )
    if now < cert.not_valid_before_utc:
        raise CertificateFileError(
            f"{name} is not valid until {cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC; "
            "wait until then"
        )
    if now > cert.not_valid_after_utc:
        raise CertificateFileError(
            f"{name} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC; ask the "
            "partner for a current one"
        )
    return PartnerCertificate(
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
    )


def _is_der_key(data: bytes) -> bool:
    try:
        serialization.load_der_private_key(data, None)
    except TypeError:  # an encrypted PKCS#8 key is a key all the same
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True
