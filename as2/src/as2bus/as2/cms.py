"""CMS (RFC 5652) for the codec. Writing: ``cryptography`` signs (pyas2lib for SHA-1, which
``cryptography``'s PKCS#7 builder refuses), pyas2lib encrypts and compresses. Reading is ours,
on asn1crypto + oscrypto (+ ``cryptography`` where oscrypto falls short), in ``decrypt`` and
``verify``. What is shared by both sides is here.
"""

from __future__ import annotations

import binascii
import functools
import zlib
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from as2bus.as2._pyas2lib import ENCRYPTION_NAMES, certificate, private_key, pyas2_cms
from as2bus.as2.algorithms import EncryptionAlg, SigningAlg
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
    """A PEM private key loaded once for ``cryptography`` (where oscrypto falls short)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key")
    return key


#: What ``cryptography``'s PKCS#7 builder signs with (it refuses SHA-1).
_BuilderHash = type[hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512]
_BUILDER_HASHES: dict[SigningAlg, _BuilderHash] = {
    SigningAlg.SHA224: hashes.SHA224,
    SigningAlg.SHA256: hashes.SHA256,
    SigningAlg.SHA384: hashes.SHA384,
    SigningAlg.SHA512: hashes.SHA512,
}
#: Detached, and ``Binary``: without it the builder would turn LF into CRLF before hashing.
_BUILDER_OPTIONS = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]


@functools.lru_cache(maxsize=256)
def x509_certificate(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def sign(content: bytes, alg: SigningAlg, pair: KeyPair) -> bytes:
    """Detached SignedData, RSA PKCS#1 v1.5, with the signer's certificate and the signed
    attributes S/MIME writes (content type, signing time, message digest, capabilities).

    ``cryptography`` writes it in Rust: about 1 ms for a 2048-bit key where pyas2lib's
    asn1crypto took 5 ms, most of it re-encoding our certificate (docs/benchmarks.md).
    pyas2lib signs SHA-1 only. Its PSS SignerInfo has no RSASSA-PSS parameters (openssl
    rejects it), so PSS is never used for what we send."""
    hash_type = _BUILDER_HASHES.get(alg)
    if hash_type is None:
        return bytes(
            pyas2_cms.sign_message(content, alg.value, private_key(pair), "rsassa_pkcs1v15")
        )
    builder = pkcs7.PKCS7SignatureBuilder().set_data(content)
    signer = builder.add_signer(
        x509_certificate(pair.cert_pem), rsa_private_key(pair.key_pem), hash_type()
    )
    return signer.sign(serialization.Encoding.DER, _BUILDER_OPTIONS)


def encrypt(content: bytes, alg: EncryptionAlg, cert_pem: bytes) -> bytes:
    """EnvelopedData, key transport RSA PKCS#1 v1.5 (RemoteParty has no OAEP setting)."""
    return bytes(
        pyas2_cms.encrypt_message(
            content, ENCRYPTION_NAMES[alg], certificate(cert_pem), "rsaes_pkcs1v15"
        )
    )


def compress(content: bytes) -> bytes:
    return bytes(pyas2_cms.compress_message(content))


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


def decompress(info: Any, limit: int) -> bytes:
    """CompressedData inflated to at most ``limit`` bytes: a zip bomb stops there."""
    try:
        algorithm = info["content"]["compression_algorithm"]["algorithm"].native
        data = info["content"]["encap_content_info"]["content"].native
    except (ValueError, TypeError, KeyError) as err:
        raise As2Error("unexpected-processing-error", f"unreadable CompressedData: {err}") from None
    if algorithm != "zlib" or not isinstance(data, bytes):
        raise As2Error("unexpected-processing-error", f"unsupported compression {algorithm!r}")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or gzip framing
    try:
        out = inflater.decompress(data, limit + 1)
        if len(out) <= limit and not inflater.unconsumed_tail:
            out += inflater.flush()
    except zlib.error as err:
        raise As2Error("unexpected-processing-error", f"corrupt compressed data: {err}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise As2Error(
            "unexpected-processing-error",
            f"the decompressed content exceeds the limit of {limit} bytes",
        )
    if not inflater.eof:
        raise As2Error("unexpected-processing-error", "the compressed data is truncated")
    return out


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
    """Whether a RecipientIdentifier / SignerIdentifier names this certificate (PEM)."""
    try:
        chosen, asn1 = rid.chosen, certificate(cert_pem).asn1
        if rid.name == "issuer_and_serial_number":
            # Serial first, then the issuer's exact bytes: both cheap. asn1crypto's Name
            # comparison (RFC 5280 string preparation, ~0.4 ms) only when the bytes differ.
            if chosen["serial_number"].native != asn1.serial_number:
                return False
            issuer = chosen["issuer"]
            return bool(issuer.dump() == asn1.issuer.dump() or issuer == asn1.issuer)
        return bool(chosen.native == asn1.key_identifier)
    except (ValueError, TypeError, KeyError, AttributeError):
        return False
