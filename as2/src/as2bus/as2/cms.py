"""CMS (RFC 5652) for the codec. Writing: ``cryptography`` signs (pyas2lib for SHA-1, which
``cryptography``'s PKCS#7 builder refuses), pyas2lib encrypts and compresses. Reading is ours,
on ``cryptography`` (asn1crypto reads the structures), in ``decrypt`` and ``verify``. What
is shared by both sides is here.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
from typing import Any

from asn1crypto import cms
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from as2bus.as2 import cms_write
from as2bus.as2.algorithms import EncryptionAlg, KeyTransport, SignatureScheme, SigningAlg
from as2bus.as2.model import As2Error, KeyPair

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@functools.lru_cache(maxsize=256)
def rsa_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """A PEM private key loaded once (for unwrapping content keys and for signing)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key")
    return key


@functools.lru_cache(maxsize=256)
def x509_certificate(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def sign(
    content: bytes,
    alg: SigningAlg,
    pair: KeyPair,
    scheme: SignatureScheme = SignatureScheme.PKCS1V15,
) -> bytes:
    """Detached SignedData over ``content`` (``cms_write.sign_digest``): the signer's
    certificate, the signed attributes S/MIME writes, RSA PKCS#1 v1.5 or RSASSA-PSS."""
    digest = hashlib.new(alg.value, content).digest()
    return cms_write.sign_digest(digest, alg, pair, scheme=scheme)


def encrypt(
    content: bytes,
    alg: EncryptionAlg,
    cert_pem: bytes,
    transport: KeyTransport = KeyTransport.RSA_PKCS1V15,
) -> bytes:
    """EnvelopedData (CBC) or AuthEnvelopedData (GCM) for the certificate's RSA key
    (``cms_write.Encryptor``, in one piece)."""
    encryptor = cms_write.Encryptor(alg, cert_pem, len(content), transport)
    return encryptor.head + encryptor.update(content) + encryptor.finish()


def compress(content: bytes) -> bytes:
    """CompressedData, zlib (``cms_write.Compressor``, in one piece)."""
    compressor = cms_write.Compressor()
    return compressor.head + compressor.update(content) + compressor.finish()


def load(der: bytes) -> tuple[str, Any]:
    """(content type, ContentInfo) or unexpected-processing-error for what is not CMS.
    DER starts with a SEQUENCE (0x30); anything else is tried as base64, which some partners
    send without saying so in Content-Transfer-Encoding."""
    try:
        if der[:1] != b"\x30":
            der = binascii.a2b_base64(der)
        info = cms.ContentInfo.load(der)
        return str(info["content_type"].native), info
    except (binascii.Error, ValueError, TypeError, KeyError) as err:
        reason = f"the body is not readable CMS data ({err})"
    raise As2Error("unexpected-processing-error", reason)


def signed_content(info: Any) -> bytes:
    """The content inside an opaque (non-detached) SignedData."""
    try:
        content = info["content"]["encap_content_info"]["content"].native
    except (ValueError, TypeError, KeyError) as err:
        raise As2Error("unexpected-processing-error", f"unreadable SignedData: {err}") from None
    if not isinstance(content, bytes):
        raise As2Error("unexpected-processing-error", "the SignedData carries no content")
    return content


def names(rid: Any, cert_pem: bytes) -> bool:
    """Whether a RecipientIdentifier / SignerIdentifier names this certificate (PEM): by
    issuer and serial number, or by subject key identifier (the certificate's extension, or
    the SHA-1 of its public key, RFC 5280 §4.2.1.2, when it has none)."""
    try:
        chosen, cert = rid.chosen, asn1_certificate(cert_pem)
        if rid.name == "issuer_and_serial_number":
            # Serial first, then the issuer's exact bytes: both cheap. asn1crypto's Name
            # comparison (RFC 5280 string preparation, ~0.4 ms) only when the bytes differ.
            if chosen["serial_number"].native != cert.serial_number:
                return False
            issuer = chosen["issuer"]
            return bool(issuer.dump() == cert.issuer.dump() or issuer == cert.issuer)
        if rid.name == "subject_key_identifier":
            return bytes(chosen.native) in key_identifiers(cert_pem)
        return False
    except (ValueError, TypeError, KeyError, AttributeError):
        return False


@functools.lru_cache(maxsize=512)
def asn1_certificate(pem: bytes) -> asn1_x509.Certificate:
    """A PEM (or DER) certificate parsed once by asn1crypto."""
    if asn1_pem.detect(pem):
        _, _, pem = asn1_pem.unarmor(pem)
    return asn1_x509.Certificate.load(pem)


@functools.lru_cache(maxsize=512)
def key_identifiers(cert_pem: bytes) -> frozenset[bytes]:
    """The subject key identifiers a sender may name this certificate by: its extension's,
    and the SHA-1 of the subjectPublicKey (what it would have been computed as)."""
    cert = asn1_certificate(cert_pem)
    found = {bytes(cert.public_key.sha1)}
    if cert.key_identifier is not None:
        found.add(bytes(cert.key_identifier))
    return frozenset(found)


def describe(sid: Any) -> str:
    """A SignerIdentifier / RecipientIdentifier in words, for a reason."""
    try:
        chosen = sid.chosen
        if sid.name == "issuer_and_serial_number":
            issuer = chosen["issuer"].human_friendly
            return f"issuer {issuer}, serial {chosen['serial_number'].native:#x}"
        return f"subject key identifier {bytes(chosen.native).hex()}"
    except (ValueError, TypeError, KeyError, AttributeError):
        return "an unreadable identifier"
