"""CMS that we write ourselves, for documents too large to hold in memory.

pyas2lib's writers take the whole content: ``sign_message`` hashes it, ``encrypt_message``
encrypts it in one call and asn1crypto dumps the result as one value. For a large document
the codec instead signs a digest it computed while reading the document, and writes
EnvelopedData as a DER header of known length followed by ciphertext produced chunk by chunk.
The structures are the ones pyas2lib writes (same attributes, same algorithm identifiers), so
a partner cannot tell the two paths apart; ``tests/.../test_streaming.py`` compares them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, pem, x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7

from as2bus.as2.algorithms import EncryptionAlg, SigningAlg
from as2bus.as2.cms import rsa_private_key
from as2bus.as2.model import KeyPair

#: What pyas2lib announces in every signature (AES-256, AES-128, 3DES, RC2-128, RC4-128):
#: kept identical so both paths produce the same SignedData.
_SMIME_CAPABILITIES = (
    ("2.16.840.1.101.3.4.1.42", None),
    ("2.16.840.1.101.3.4.1.2", None),
    ("1.2.840.113549.3.7", None),
    ("1.2.840.113549.3.2", 128),
    ("1.2.840.113549.3.4", 128),
)
_HASHES: dict[SigningAlg, Callable[[], hashes.HashAlgorithm]] = {
    SigningAlg.SHA1: hashes.SHA1,
    SigningAlg.SHA224: hashes.SHA224,
    SigningAlg.SHA256: hashes.SHA256,
    SigningAlg.SHA384: hashes.SHA384,
    SigningAlg.SHA512: hashes.SHA512,
}
#: (asn1crypto name, key bytes, block bytes) per content-encryption algorithm.
_CIPHERS = {
    EncryptionAlg.AES128: ("aes128_cbc", 16, 16),
    EncryptionAlg.AES192: ("aes192_cbc", 24, 16),
    EncryptionAlg.AES256: ("aes256_cbc", 32, 16),
    EncryptionAlg.TRIPLE_DES: ("tripledes_3key", 24, 8),
}


@functools.lru_cache(maxsize=512)
def _certificate(pem_bytes: bytes) -> x509.Certificate:
    _, _, der = pem.unarmor(pem_bytes)
    return x509.Certificate.load(der)


def _issuer_and_serial(cert: x509.Certificate) -> cms.IssuerAndSerialNumber:
    tbs = cert["tbs_certificate"]
    return cms.IssuerAndSerialNumber(
        {"issuer": tbs["issuer"], "serial_number": tbs["serial_number"]}
    )


def _signed_attributes(digest: bytes, at: datetime) -> cms.CMSAttributes:
    capabilities = cms.SMIMECapabilites(
        [
            cms.SMIMECapabilityIdentifier(
                {"capability_id": oid, **({"parameters": core.Integer(p)} if p else {})}
            )
            for oid, p in _SMIME_CAPABILITIES
        ]
    )
    return cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": [cms.ContentType("data")]}),
            cms.CMSAttribute(
                {"type": "signing_time", "values": [cms.Time({"utc_time": core.UTCTime(at)})]}
            ),
            cms.CMSAttribute({"type": "message_digest", "values": [core.OctetString(digest)]}),
            cms.CMSAttribute({"type": "smime_capabilities", "values": [capabilities]}),
        ]
    )


def sign_digest(
    digest: bytes, alg: SigningAlg, pair: KeyPair, *, at: datetime | None = None
) -> bytes:
    """Detached SignedData (RSA PKCS#1 v1.5) over content whose ``alg`` digest is given."""
    attrs = _signed_attributes(digest, at or datetime.now(UTC).replace(microsecond=0))
    signature = rsa_private_key(pair.key_pem).sign(attrs.dump(), padding.PKCS1v15(), _HASHES[alg]())
    cert = _certificate(pair.cert_pem)
    digest_alg = algos.DigestAlgorithm({"algorithm": alg.value})
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": _issuer_and_serial(cert)}),
            "digest_algorithm": digest_alg,
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
            "signature": signature,
        }
    )
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [digest_alg],
            "encap_content_info": {"content_type": "data"},
            "certificates": [cms.CertificateChoices({"certificate": cert})],
            "signer_infos": [signer],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def _tlv_head(tag: int, length: int) -> bytes:
    """A DER tag and definite length (short form below 128, long form above)."""
    if length < 0x80:
        return bytes((tag, length))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size


class Encryptor:
    """EnvelopedData for ``length`` bytes of content that arrive in pieces.

    ``head`` is everything before the ciphertext (its length is known: CBC with PKCS#7 padding
    adds 1 to a block), ``update``/``finish`` give the ciphertext. One ``Encryptor`` per
    message: the content-encryption key and IV are fresh, the recipient's part is fixed.
    """

    def __init__(self, alg: EncryptionAlg, cert_pem: bytes, length: int) -> None:
        name, key_bytes, block = _CIPHERS[alg]
        key, iv = os.urandom(key_bytes), os.urandom(block)
        self.cipher_length = (length // block + 1) * block
        self.head = _enveloped_head(name, key, iv, _certificate(cert_pem), self.cipher_length)
        self.length = len(self.head) + self.cipher_length
        primitive = TripleDES(key) if alg == EncryptionAlg.TRIPLE_DES else algorithms.AES(key)
        self._cipher: CipherContext = Cipher(primitive, modes.CBC(iv)).encryptor()
        self._padder = PKCS7(block * 8).padder()

    def update(self, data: bytes) -> bytes:
        return self._cipher.update(self._padder.update(data))

    def finish(self) -> bytes:
        return self._cipher.update(self._padder.finalize()) + self._cipher.finalize()


def _enveloped_head(
    name: str, key: bytes, iv: bytes, cert: x509.Certificate, cipher_length: int
) -> bytes:
    recipient_key = serialization.load_der_public_key(cert.public_key.dump())
    if not isinstance(recipient_key, rsa.RSAPublicKey):
        raise ValueError("the partner's encryption certificate is not an RSA certificate")
    recipient = cms.KeyTransRecipientInfo(
        {
            "version": "v0",
            "rid": cms.RecipientIdentifier({"issuer_and_serial_number": _issuer_and_serial(cert)}),
            "key_encryption_algorithm": {"algorithm": "rsaes_pkcs1v15"},
            "encrypted_key": recipient_key.encrypt(key, padding.PKCS1v15()),
        }
    )
    version = cms.CMSVersion("v0").dump()
    recipients = cms.RecipientInfos([cms.RecipientInfo({"ktri": recipient})]).dump()
    content_type = cms.ContentType("data").dump()
    algorithm = cms.EncryptionAlgorithm(
        {"algorithm": name, "parameters": core.OctetString(iv)}
    ).dump()
    # [0] IMPLICIT OCTET STRING encryptedContent: primitive, definite length.
    cipher_head = _tlv_head(0x80, cipher_length)
    eci_length = len(content_type) + len(algorithm) + len(cipher_head) + cipher_length
    eci_head = _tlv_head(0x30, eci_length)
    env_length = len(version) + len(recipients) + len(eci_head) + eci_length
    env_head = _tlv_head(0x30, env_length)
    explicit_head = _tlv_head(0xA0, len(env_head) + env_length)  # ContentInfo's [0] EXPLICIT
    oid = cms.ContentType("enveloped_data").dump()
    info_length = len(oid) + len(explicit_head) + len(env_head) + env_length
    return b"".join(
        (
            _tlv_head(0x30, info_length),
            oid,
            explicit_head,
            env_head,
            version,
            recipients,
            eci_head,
            content_type,
            algorithm,
            cipher_head,
        )
    )
