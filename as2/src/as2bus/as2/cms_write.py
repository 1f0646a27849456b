"""The CMS (RFC 5652) we write: SignedData, EnvelopedData / AuthEnvelopedData, CompressedData.

Everything is written here as DER (BER for CompressedData) put together from parts that
asn1crypto encodes, most of them once (it would take milliseconds to assemble a SignedData);
``cryptography`` does the RSA and the ciphers. Nothing needs the content whole:

* ``sign_digest`` signs a digest computed while the content went by (detached SignedData),
  whose length ``signed_data_length`` knows before the content is read;
* ``Encryptor`` writes EnvelopedData (CBC) or AuthEnvelopedData (GCM, RFC 5083/5084) as a DER
  header of known length, then the ciphertext chunk by chunk (then, for GCM, the tag);
* ``Compressor`` writes CompressedData (RFC 3274) with BER indefinite lengths, the zlib data
  in segments: its header does not depend on the compressed length, so what comes after it
  (a signature's digest) can be computed while compressing. The length of the whole is known
  once the content was compressed once: zlib gives the same bytes for the same input.

``cms.sign``/``encrypt``/``compress`` are the in-memory forms of the same writers.
"""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, pem, x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7

from as2bus.as2.algorithms import EncryptionAlg, KeyTransport, SignatureScheme, SigningAlg
from as2bus.as2.model import KeyPair

#: What we announce in every signature (RFC 8551 §2.5.2): what we really decrypt, in order
#: of preference: AES-256-GCM, AES-128-GCM, AES-256-CBC, AES-192-CBC, AES-128-CBC, 3DES.
SMIME_CAPABILITIES = (
    "2.16.840.1.101.3.4.1.46",
    "2.16.840.1.101.3.4.1.6",
    "2.16.840.1.101.3.4.1.42",
    "2.16.840.1.101.3.4.1.22",
    "2.16.840.1.101.3.4.1.2",
    "1.2.840.113549.3.7",
)
HASHES: dict[SigningAlg, Callable[[], hashes.HashAlgorithm]] = {
    SigningAlg.SHA1: hashes.SHA1,
    SigningAlg.SHA224: hashes.SHA224,
    SigningAlg.SHA256: hashes.SHA256,
    SigningAlg.SHA384: hashes.SHA384,
    SigningAlg.SHA512: hashes.SHA512,
}


@dataclass(frozen=True)
class _Cipher:
    name: str  # asn1crypto's name of the content-encryption algorithm
    key_bytes: int
    block: int  # CBC block (the IV's length), 0 for GCM
    make: Callable[[bytes], algorithms.AES | TripleDES]


_CIPHERS = {
    EncryptionAlg.AES128: _Cipher("aes128_cbc", 16, 16, algorithms.AES),
    EncryptionAlg.AES192: _Cipher("aes192_cbc", 24, 16, algorithms.AES),
    EncryptionAlg.AES256: _Cipher("aes256_cbc", 32, 16, algorithms.AES),
    EncryptionAlg.TRIPLE_DES: _Cipher("tripledes_3key", 24, 8, TripleDES),
    EncryptionAlg.AES128_GCM: _Cipher("aes128_gcm", 16, 0, algorithms.AES),
    EncryptionAlg.AES256_GCM: _Cipher("aes256_gcm", 32, 0, algorithms.AES),
}
GCM_NONCE_BYTES = 12
GCM_TAG_BYTES = 16


def _tlv_head(tag: int, length: int) -> bytes:
    """A DER tag and definite length (short form below 128, long form above)."""
    if length < 0x80:
        return bytes((tag, length))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size


def _der(tag: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return _tlv_head(tag, len(body)) + body


def _mgf1(alg: SigningAlg) -> algos.MaskGenAlgorithm:
    return algos.MaskGenAlgorithm({"algorithm": "mgf1", "parameters": {"algorithm": alg.value}})


# -- signing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Signer:
    key: rsa.RSAPrivateKey
    sid: bytes  # SignerIdentifier (issuer and serial number), DER
    certificates: bytes  # SignedData's [0] certificates: our certificate, DER


@functools.lru_cache(maxsize=256)
def _signer(pair: KeyPair) -> _Signer:
    """The key and the encoded certificate, once per key pair: parsing and encoding cost
    several times the RSA signature."""
    key = serialization.load_pem_private_key(pair.key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the signing key is not an RSA key")
    cert = _certificate(pair.cert_pem)
    sid = cms.SignerIdentifier({"issuer_and_serial_number": _issuer_and_serial(cert)}).dump()
    return _Signer(key, sid, _der(0xA0, cert.dump()))


@functools.lru_cache(maxsize=32)
def _algorithms(alg: SigningAlg, scheme: SignatureScheme) -> tuple[bytes, bytes]:
    """(digestAlgorithm, signatureAlgorithm), DER. RSASSA-PSS carries its parameters
    (RFC 4056): the same hash, MGF1 with it, a salt as long as the digest, trailer field 1
    (the DEFAULT: DER leaves it out, as it leaves out SHA-1's defaults)."""
    digest_alg = algos.DigestAlgorithm({"algorithm": alg.value}).dump()
    if scheme == SignatureScheme.PSS:
        params = algos.RSASSAPSSParams(
            {
                "hash_algorithm": {"algorithm": alg.value},
                "mask_gen_algorithm": _mgf1(alg),
                "salt_length": HASHES[alg]().digest_size,
                "trailer_field": "trailer_field_bc",
            }
        )
        signature_alg = algos.SignedDigestAlgorithm(
            {"algorithm": "rsassa_pss", "parameters": params}
        )
    else:
        signature_alg = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"})
    return digest_alg, signature_alg.dump()


def _attribute(name: str, value: bytes) -> bytes:
    return _der(0x30, cms.CMSAttributeType(name).dump(), _der(0x31, value))


_VERSION_0 = cms.CMSVersion("v0").dump()
_VERSION_1 = cms.CMSVersion("v1").dump()
_DATA_TYPE = cms.ContentType("data").dump()
_CONTENT_TYPE_ATTR = _attribute("content_type", _DATA_TYPE)
_CAPABILITIES_ATTR = _attribute(
    "smime_capabilities",
    cms.SMIMECapabilites(
        [cms.SMIMECapabilityIdentifier({"capability_id": oid}) for oid in SMIME_CAPABILITIES]
    ).dump(),
)
_DATA = _der(0x30, _DATA_TYPE)  # encapContentInfo, detached
_SIGNED_DATA = cms.ContentType("signed_data").dump()


def _signed_attributes(digest: bytes, at: datetime) -> bytes:
    """The content of the SET OF signed attributes: content type, signing time, message
    digest, S/MIME capabilities, in DER order (openssl re-encodes them to verify)."""
    attributes = [
        _CONTENT_TYPE_ATTR,
        _attribute("signing_time", core.UTCTime(at).dump()),
        _attribute("message_digest", core.OctetString(digest).dump()),
        _CAPABILITIES_ATTR,
    ]
    return b"".join(sorted(attributes))


def sign_digest(
    digest: bytes,
    alg: SigningAlg,
    pair: KeyPair,
    *,
    scheme: SignatureScheme = SignatureScheme.PKCS1V15,
    at: datetime | None = None,
) -> bytes:
    """Detached SignedData over content whose ``alg`` digest is given: our certificate, the
    signed attributes S/MIME writes, an RSA signature by ``scheme`` (PKCS#1 v1.5 or PSS).

    Written as DER from parts encoded once (``_signer``, ``_algorithms``): asn1crypto would
    take about 3 ms to assemble it, three times the RSA signature."""
    signer = _signer(pair)
    attributes = _signed_attributes(digest, at or datetime.now(UTC).replace(microsecond=0))
    hash_alg = HASHES[alg]()
    if scheme == SignatureScheme.PSS:
        pad: padding.AsymmetricPadding = padding.PSS(
            mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size
        )
    else:
        pad = padding.PKCS1v15()
    signature = signer.key.sign(_der(0x31, attributes), pad, hash_alg)
    return _signed_data(signer, alg, scheme, attributes, signature)


@functools.lru_cache(maxsize=256)
def signed_data_length(alg: SigningAlg, pair: KeyPair, scheme: SignatureScheme) -> int:
    """The length of every ``sign_digest`` DER for these arguments, before any content was
    read: nothing in it varies in length. The digest has the hash's size; the signing time
    is a UTCTime of fixed width (seconds, ``Z``); the other attributes, the algorithms and
    the certificate are constant; an RSA signature, PKCS#1 v1.5 or PSS, is exactly as long
    as the modulus (I2OSP to k bytes, RFC 8017 §8.1.1, §8.2.1). So the DER around a
    placeholder of those lengths has the length of the real one (``SignRun`` checks it)."""
    signer = _signer(pair)
    digest = bytes(HASHES[alg]().digest_size)
    attributes = _signed_attributes(digest, datetime.now(UTC).replace(microsecond=0))
    signature = bytes((signer.key.key_size + 7) // 8)
    return len(_signed_data(signer, alg, scheme, attributes, signature))


def _signed_data(
    signer: _Signer, alg: SigningAlg, scheme: SignatureScheme, attributes: bytes, signature: bytes
) -> bytes:
    """ContentInfo { signed-data { ... one SignerInfo } } around the signed attributes'
    content and the signature over them."""
    digest_alg, signature_alg = _algorithms(alg, scheme)
    signer_info = _der(
        0x30,
        _VERSION_1,
        signer.sid,
        digest_alg,
        _der(0xA0, attributes),  # [0] IMPLICIT signedAttrs
        signature_alg,
        core.OctetString(signature).dump(),
    )
    signed_data = _der(
        0x30,
        _VERSION_1,
        _der(0x31, digest_alg),
        _DATA,
        signer.certificates,
        _der(0x31, signer_info),
    )
    return _der(0x30, _SIGNED_DATA, _der(0xA0, signed_data))


# -- encryption ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _certificate(pem_bytes: bytes) -> x509.Certificate:
    _, _, der = pem.unarmor(pem_bytes)
    return x509.Certificate.load(der)


@functools.lru_cache(maxsize=512)
def _recipient(pem_bytes: bytes) -> tuple[bytes, rsa.RSAPublicKey]:
    """(RecipientIdentifier DER, public key) of the partner's certificate, once."""
    cert = _certificate(pem_bytes)
    public_key = serialization.load_der_public_key(cert.public_key.dump())
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the partner's encryption certificate is not an RSA certificate")
    rid = cms.RecipientIdentifier({"issuer_and_serial_number": _issuer_and_serial(cert)})
    return rid.dump(), public_key


def _issuer_and_serial(cert: x509.Certificate) -> cms.IssuerAndSerialNumber:
    tbs = cert["tbs_certificate"]
    return cms.IssuerAndSerialNumber(
        {"issuer": tbs["issuer"], "serial_number": tbs["serial_number"]}
    )


def _oaep_sha256() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


#: keyEncryptionAlgorithm per key transport, DER. RFC 4055 §4.1: OAEP with SHA-256 and
#: MGF1-SHA-256 written out; pSourceFunc is the default (empty label), left out.
_KEY_ENCRYPTION = {
    KeyTransport.RSA_PKCS1V15: cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15"}).dump(),
    KeyTransport.RSA_OAEP_SHA256: cms.KeyEncryptionAlgorithm(
        {
            "algorithm": "rsaes_oaep",
            "parameters": algos.RSAESOAEPParams(
                {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "mask_gen_algorithm": _mgf1(SigningAlg.SHA256),
                }
            ),
        }
    ).dump(),
}


def _recipient_infos(cert_pem: bytes, key: bytes, transport: KeyTransport) -> bytes:
    """RecipientInfos DER: one KeyTransRecipientInfo, the content key wrapped for the
    partner's certificate."""
    rid, public_key = _recipient(cert_pem)
    if transport == KeyTransport.RSA_OAEP_SHA256:
        encrypted_key = public_key.encrypt(key, _oaep_sha256())
    else:
        encrypted_key = public_key.encrypt(key, padding.PKCS1v15())
    recipient = _der(
        0x30,
        _VERSION_0,
        rid,
        _KEY_ENCRYPTION[transport],
        _der(0x04, encrypted_key),
    )
    return _der(0x31, recipient)


def _gcm_parameters(nonce: bytes) -> bytes:
    """GCMParameters (RFC 5084): aes-nonce, aes-ICVlen 16 (not the default 12, so written)."""
    return _der(0x30, _der(0x04, nonce), core.Integer(GCM_TAG_BYTES).dump())


@functools.lru_cache(maxsize=16)
def _algorithm_oid(name: str) -> bytes:
    return bytes(algos.EncryptionAlgorithmId(name).dump())


class Encryptor:
    """EnvelopedData (CBC) or AuthEnvelopedData (GCM) for ``length`` bytes of content that
    arrive in pieces.

    ``head`` is everything before the ciphertext (its length is known: CBC with PKCS#7 padding
    pads to the next block, GCM adds nothing), ``update``/``finish`` give the ciphertext, and
    for GCM ``finish`` ends with the ``mac`` field (the 16-byte tag). ``length`` is the whole.
    One ``Encryptor`` per message: the content-encryption key and IV/nonce are fresh.
    """

    def __init__(
        self,
        alg: EncryptionAlg,
        cert_pem: bytes,
        length: int,
        transport: KeyTransport = KeyTransport.RSA_PKCS1V15,
    ) -> None:
        spec = _CIPHERS[alg]
        key = os.urandom(spec.key_bytes)
        self._padder = None
        self._gcm: modes.GCM | None = None
        if spec.block:
            iv = os.urandom(spec.block)
            mode: modes.CBC | modes.GCM = modes.CBC(iv)
            self._padder = PKCS7(spec.block * 8).padder()
            parameters = _der(0x04, iv)
            self.cipher_length = (length // spec.block + 1) * spec.block
            tail = 0
        else:
            nonce = os.urandom(GCM_NONCE_BYTES)
            mode = self._gcm = modes.GCM(nonce)
            parameters = _gcm_parameters(nonce)
            self.cipher_length = length
            tail = len(_tlv_head(0x04, GCM_TAG_BYTES)) + GCM_TAG_BYTES
        algorithm = _der(0x30, _algorithm_oid(spec.name), parameters)  # AlgorithmIdentifier
        self.head = _enveloped_head(
            "authenticated_enveloped_data" if self._gcm else "enveloped_data",
            _recipient_infos(cert_pem, key, transport),
            algorithm,
            self.cipher_length,
            tail,
        )
        self.length = len(self.head) + self.cipher_length + tail
        self._cipher: CipherContext = Cipher(spec.make(key), mode).encryptor()

    def update(self, data: bytes) -> bytes:
        if self._padder is not None:
            data = self._padder.update(data)
        return self._cipher.update(data)

    def finish(self) -> bytes:
        if self._padder is not None:
            return self._cipher.update(self._padder.finalize()) + self._cipher.finalize()
        out = self._cipher.finalize()
        tag: bytes = self._cipher.tag  # type: ignore[attr-defined]
        return out + _tlv_head(0x04, len(tag)) + tag


def _enveloped_head(
    content_type: str,
    recipients_der: bytes,
    algorithm_der: bytes,
    cipher_length: int,
    tail_length: int,
) -> bytes:
    """ContentInfo { enveloped or auth-enveloped data { version 0, recipients,
    EncryptedContentInfo { data, algorithm, [0] ciphertext ... up to the ciphertext;
    ``tail_length`` bytes follow the ciphertext (AuthEnvelopedData's mac)."""
    # [0] IMPLICIT OCTET STRING encryptedContent: primitive, definite length.
    cipher_head = _tlv_head(0x80, cipher_length)
    eci_length = len(_DATA_TYPE) + len(algorithm_der) + len(cipher_head) + cipher_length
    eci_head = _tlv_head(0x30, eci_length)
    env_length = len(_VERSION_0) + len(recipients_der) + len(eci_head) + eci_length + tail_length
    env_head = _tlv_head(0x30, env_length)
    explicit_head = _tlv_head(0xA0, len(env_head) + env_length)  # ContentInfo's [0] EXPLICIT
    oid = cms.ContentType(content_type).dump()
    info_length = len(oid) + len(explicit_head) + len(env_head) + env_length
    return b"".join(
        (
            _tlv_head(0x30, info_length),
            oid,
            explicit_head,
            env_head,
            _VERSION_0,
            recipients_der,
            eci_head,
            _DATA_TYPE,
            algorithm_der,
            cipher_head,
        )
    )


# -- compression -----------------------------------------------------------------------------

#: zlib data per eContent segment (a primitive OCTET STRING each).
SEGMENT = 16 * 1024
_EOC = b"\x00\x00"
#: ContentInfo { compressed-data [0] { CompressedData { version 0, zlib (RFC 3274),
#: EncapsulatedContentInfo { data, [0] { OCTET STRING (constructed) {  -- all indefinite.
_COMPRESSED_HEAD = b"".join(
    (
        b"\x30\x80",
        cms.ContentType("compressed_data").dump(),
        b"\xa0\x80\x30\x80",
        _VERSION_0,
        cms.CompressionAlgorithm({"algorithm": "zlib"}).dump(),
        b"\x30\x80",
        _DATA_TYPE,
        b"\xa0\x80\x24\x80",
    )
)
_COMPRESSED_TAIL = _EOC * 6


class Compressor:
    """CompressedData (BER) for content that arrives in pieces: ``head``, then ``update``
    per piece and ``finish``. ``deflated`` counts the zlib bytes written so far; given the
    count of an earlier run over the same content, ``finish`` checks it came out the same
    (so a Content-Length computed from it holds)."""

    head = _COMPRESSED_HEAD

    def __init__(self, expect: int | None = None) -> None:
        self._zlib = zlib.compressobj()
        self._held = bytearray()
        self.deflated = 0
        self._expect = expect

    @staticmethod
    def length(deflated: int) -> int:
        """The whole CompressedData around ``deflated`` bytes of zlib data."""
        full, rest = divmod(deflated, SEGMENT)
        segment = len(_tlv_head(0x04, SEGMENT)) + SEGMENT
        last = len(_tlv_head(0x04, rest)) + rest if rest else 0
        return len(_COMPRESSED_HEAD) + full * segment + last + len(_COMPRESSED_TAIL)

    def update(self, data: bytes) -> bytes:
        return self._segments(self._zlib.compress(data), final=False)

    def finish(self) -> bytes:
        out = self._segments(self._zlib.flush(), final=True)
        if self._expect is not None and self.deflated != self._expect:
            raise RuntimeError(
                f"the content compressed to {self.deflated} bytes, not {self._expect} as before:"
                " it changed between the two readings"
            )
        return out + _COMPRESSED_TAIL

    def _segments(self, deflated: bytes, *, final: bool) -> bytes:
        self.deflated += len(deflated)
        self._held += deflated
        cut = len(self._held) if final else len(self._held) - len(self._held) % SEGMENT
        out = [
            _tlv_head(0x04, len(piece)) + piece
            for piece in (
                bytes(self._held[i : min(i + SEGMENT, cut)]) for i in range(0, cut, SEGMENT)
            )
        ]
        del self._held[:cut]
        return b"".join(out)
