"""Decrypting CMS EnvelopedData and AuthEnvelopedData, with reasons that name what cannot be
done, on ``cryptography`` (asn1crypto reads the structures).

Not pyas2lib's ``decrypt_message``: it tries only the first RecipientInfo, unwraps RSAES-OAEP
only with SHA-1, and its errors do not name what it cannot do. Here the RecipientInfo naming one
of our certificates (by issuer and serial number or by subject key identifier) is tried first,
RSA PKCS#1 v1.5 and RSAES-OAEP with SHA-1/224/256/384/512 are unwrapped, and the content is
deciphered with AES-CBC, 3DES, RC2-CBC (128-bit, read only, for legacy partners) or AES-GCM
(AuthEnvelopedData, RFC 5083/5084: the tag is checked before anything is delivered).

Every failure to decrypt reads the same, whatever step failed, so that the answer is no padding
oracle. ``decrypt_spooled`` deciphers from a file into another, a chunk at a time (for
``spooled``, which also parses messages held in memory).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from asn1crypto import algos, core
from asn1crypto import cms as asn1_cms
from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.algorithms import RC2, TripleDES
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import (
    AEADDecryptionContext,
    BlockCipherAlgorithm,
    Cipher,
    CipherContext,
    algorithms,
    modes,
)
from cryptography.hazmat.primitives.padding import PaddingContext

from as2bus.as2.cms import HASHES, names, rsa_private_key
from as2bus.as2.model import As2Error, KeyPair
from as2bus.as2.spool_io import (
    BerError,
    Range,
    Tlv,
    element,
    end_of,
    expect,
    header,
    octets,
)

#: Content-encryption key size in bytes, by asn1crypto's algorithm name.
_KEY_SIZES = {
    "aes128_cbc": 16,
    "aes192_cbc": 24,
    "aes256_cbc": 32,
    "tripledes_3key": 24,
    "rc2": 16,
    "aes128_gcm": 16,
    "aes192_gcm": 24,
    "aes256_gcm": 32,
}
_GCM = ("aes128_gcm", "aes192_gcm", "aes256_gcm")
#: RC2 parameter versions (RFC 2268 §6) → effective key bits; from 256 on the value is the bits.
_RC2_VERSIONS = {160: 40, 120: 64, 58: 128}


#: RFC 5084 GCMParameters (made with ``type``: asn1crypto's classes are untyped for mypy).
_GcmParameters: Any = type(
    "_GcmParameters",
    (core.Sequence,),
    {"_fields": [("aes_nonce", core.OctetString), ("aes_icvlen", core.Integer, {"default": 12})]},
)


@dataclass(frozen=True)
class Envelope:
    """What is needed to find the content-encryption key, without the encrypted content."""

    cipher: str  # asn1crypto's name, one of _KEY_SIZES
    iv: bytes  # the IV, or the GCM nonce
    recipients: list[Any]  # KeyTransRecipientInfo
    oaep: list[tuple[str, str, bytes | None] | None]  # per recipient: see _oaep_hashes
    tag: bytes = b""  # AES-GCM: the mac field of AuthEnvelopedData
    aad: bytes = b""  # AES-GCM: the DER of the authenticated attributes (RFC 5083 §2.2)

    @property
    def authenticated(self) -> bool:
        return self.cipher in _GCM


def failed(keys: Sequence[KeyPair]) -> As2Error:
    """The one answer for every key that did not open the content (no padding oracle)."""
    return As2Error(
        "decryption-failed", f"could not decrypt with any of our {len(keys)} key(s) in service"
    )


def read_envelope(
    recipient_infos: Any,
    algorithm: Any,
    tag: bytes = b"",
    aad: bytes = b"",
    authenticated: bool = False,
) -> Envelope:
    """RecipientInfos and the content-encryption AlgorithmIdentifier (asn1crypto values), and
    for AuthEnvelopedData its mac and authenticated attributes; ValueError/TypeError/KeyError/
    AttributeError for what cannot be read, As2Error for what is read but not supported."""
    cipher = str(algorithm["algorithm"].native)
    if cipher not in _KEY_SIZES:
        raise As2Error(
            "decryption-failed",
            f"content encryption {cipher} is not supported (AES-CBC, AES-GCM, 3DES, RC2)",
        )
    if authenticated != (cipher in _GCM):
        kind = "AuthEnvelopedData" if authenticated else "EnvelopedData"
        raise As2Error("decryption-failed", f"content encryption {cipher} in {kind}")
    if cipher in _GCM:
        params = _GcmParameters.load(algorithm["parameters"].dump())
        iv, icv = bytes(params["aes_nonce"].native), int(params["aes_icvlen"].native)
        if not 12 <= icv <= 16 or len(tag) != icv or not iv:
            raise As2Error(
                "decryption-failed", f"AES-GCM with a {len(tag)}-byte tag ({icv} announced)"
            )
    elif cipher == "rc2":
        iv = bytes(algorithm["parameters"]["iv"].native)
        _check_rc2(algorithm["parameters"]["rc2_parameter_version"].native)
    else:
        iv = bytes(algorithm.encryption_iv)
    recipients = [r.chosen for r in recipient_infos if r.name == "ktri"]
    oaep = [_oaep_hashes(r["key_encryption_algorithm"]) for r in recipients]
    if not recipients:
        raise As2Error("decryption-failed", "no RSA key-transport recipient in the message")
    return Envelope(cipher, iv, recipients, oaep, tag, aad)


def _check_rc2(version: int | None) -> None:
    """Only 128-bit RC2 is read (what ``cryptography`` deciphers); the rest refused by name."""
    bits = version if version is None or version >= 256 else _RC2_VERSIONS.get(version)
    if bits is None:
        raise As2Error(
            "decryption-failed",
            f"RC2 with parameter version {version} is not supported (only 128-bit RC2)",
        )
    if bits != 128:
        raise As2Error(
            "decryption-failed",
            f"RC2 with a {bits}-bit effective key is not supported (only 128-bit RC2)",
        )


def _aad(attrs_der: bytes) -> bytes:
    """RFC 5083 §2.2: the authenticated attributes' DER with the SET OF tag, not [1]."""
    return b"\x31" + attrs_der[1:]


def content_keys(envelope: Envelope, keys: Sequence[KeyPair]) -> Iterator[bytes]:
    """Candidate content-encryption keys, unwrapped lazily: each key of ours (newest first) on
    each RecipientInfo, the ones naming our certificate first. A wrong key may still unwrap to
    something of the right length; only deciphering the content tells."""
    if not keys:
        raise As2Error("decryption-failed", "no decryption key of ours is in service")
    tries = sorted(
        ((r, o, k) for r, o in zip(envelope.recipients, envelope.oaep, strict=True) for k in keys),
        key=lambda t: not names(t[0]["rid"], t[2].cert_pem),
    )
    for recipient, oaep, key in tries:
        cek = _unwrap(bytes(recipient["encrypted_key"].native), oaep, key)
        if cek is not None and len(cek) == _KEY_SIZES[envelope.cipher]:
            yield cek


def decrypt_spooled(
    der: Range, keys: Sequence[KeyPair], out: BinaryIO, room: int, too_large: As2Error
) -> int:
    """Deciphers the (Auth)EnvelopedData in ``der`` into ``out`` a chunk at a time; the
    plaintext's size, or ``too_large`` as soon as it exceeds ``room``. A wrong content key
    (or, for AES-GCM, a wrong tag) only shows at the end: the next candidate then deciphers
    from the start again, and when none is left ``out`` is emptied before the error.

    ``out`` is written from its start and not cut: what lies past the plaintext's size (in a
    file used before) is not the plaintext's, and is never read as it."""
    envelope, sealed = spooled_envelope(der)
    for cek in content_keys(envelope, keys):
        out.seek(0)
        size = 0
        try:
            decipher = _Decipher(envelope, cek)
            for chunk in octets(der, sealed):
                plain = decipher.update(chunk)
                size += len(plain)
                if size > room:
                    raise too_large
                out.write(plain)
            plain = decipher.finalize()
        except (ValueError, InvalidTag):  # a wrong key or damaged content: they read the same
            continue
        out.write(plain)
        return size + len(plain)
    out.seek(0)
    out.truncate()
    raise failed(keys)


class _Decipher:
    """A streaming decryptor: CBC with PKCS#7 unpadding, or GCM whose tag is checked at
    ``finalize`` (ValueError or InvalidTag there for a wrong key or damaged content)."""

    def __init__(self, envelope: Envelope, cek: bytes) -> None:
        self._aead: AEADDecryptionContext | None = None
        self._cbc: tuple[CipherContext, PaddingContext] | None = None
        self._tag = envelope.tag
        if envelope.authenticated:
            mode = modes.GCM(envelope.iv, min_tag_length=len(envelope.tag))
            self._aead = Cipher(algorithms.AES(cek), mode).decryptor()
            if envelope.aad:
                self._aead.authenticate_additional_data(envelope.aad)
            return
        algorithm: BlockCipherAlgorithm
        if envelope.cipher == "tripledes_3key":
            algorithm = TripleDES(cek)
        elif envelope.cipher == "rc2":
            algorithm = RC2(cek)
        else:
            algorithm = algorithms.AES(cek)
        decryptor = Cipher(algorithm, modes.CBC(envelope.iv)).decryptor()
        self._cbc = decryptor, sym_padding.PKCS7(algorithm.block_size).unpadder()

    def update(self, data: bytes) -> bytes:
        if self._aead is not None:
            return self._aead.update(data)
        assert self._cbc is not None
        decryptor, unpadder = self._cbc
        return unpadder.update(decryptor.update(data))

    def finalize(self) -> bytes:
        if self._aead is not None:
            return self._aead.finalize_with_tag(self._tag)
        assert self._cbc is not None
        decryptor, unpadder = self._cbc
        return unpadder.update(decryptor.finalize()) + unpadder.finalize()


def _oaep_hashes(algorithm: Any) -> tuple[str, str, bytes | None] | None:
    """None for RSA PKCS#1 v1.5; (hash, MGF1 hash, label) for RSAES-OAEP (defaults SHA-1)."""
    name = algorithm["algorithm"].native
    if name == "rsaes_pkcs1v15":
        return None
    if name != "rsaes_oaep":
        raise As2Error("decryption-failed", f"key transport {name} is not supported")
    params = algorithm["parameters"]
    if not params.native:
        return ("sha1", "sha1", None)
    digest = str(params["hash_algorithm"]["algorithm"].native)
    mgf = str(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)
    label = params["p_source_algorithm"]["parameters"].native
    if digest not in HASHES or mgf not in HASHES:
        raise As2Error("decryption-failed", f"RSAES-OAEP with {digest} / MGF1 {mgf}")
    return (digest, mgf, bytes(label) if label else None)


def _unwrap(
    wrapped: bytes, oaep: tuple[str, str, bytes | None] | None, key: KeyPair
) -> bytes | None:
    try:
        if oaep is None:
            return rsa_private_key(key.key_pem).decrypt(wrapped, padding.PKCS1v15())
        digest, mgf, label = oaep
        scheme = padding.OAEP(padding.MGF1(HASHES[mgf]()), HASHES[digest](), label)
        return rsa_private_key(key.key_pem).decrypt(wrapped, scheme)
    except (ValueError, TypeError, KeyError, UnsupportedAlgorithm):
        return None


def spooled_envelope(der: Range) -> tuple[Envelope, Tlv]:
    """The Envelope of an EnvelopedData or AuthEnvelopedData ContentInfo in a file, and the
    header of its encryptedContent (read with ``spool_io.octets``): only the small parts are
    loaded (for AuthEnvelopedData also the authenticated attributes and the mac after it)."""
    try:
        info = expect(der, der.start, 0x30)
        end_of(der, info)  # all of it is there (for BER: walks the headers, not the content)
        content_type = expect(der, info.content, 0x06)
        kind = asn1_cms.ContentType.load(element(der, content_type)).native
        explicit = expect(der, end_of(der, content_type), 0xA0)
        enveloped = expect(der, explicit.content, 0x30)
        at = end_of(der, expect(der, enveloped.content, 0x02))  # version
        recipients = header(der, at)
        if recipients.ident == 0xA0:  # originatorInfo
            recipients = header(der, end_of(der, recipients))
        if recipients.ident != 0x31:
            raise BerError(f"tag {recipients.ident:#04x} where the RecipientInfos were due")
        content_info = expect(der, end_of(der, recipients), 0x30)
        algorithm = expect(der, end_of(der, expect(der, content_info.content, 0x06)), 0x30)
        sealed = expect(der, end_of(der, algorithm), 0x80, 0xA0)
        mac, aad = b"", b""
        authenticated = kind == "authenticated_enveloped_data"
        if authenticated:
            after = header(der, end_of(der, content_info))
            if after.ident == 0xA1:  # authAttrs
                aad = _aad(element(der, after))
                after = header(der, end_of(der, after))
            if after.ident != 0x04:
                raise BerError(f"tag {after.ident:#04x} where the mac was due")
            mac = bytes(core.OctetString.load(element(der, after)).native)
        envelope = read_envelope(
            asn1_cms.RecipientInfos.load(element(der, recipients)),
            algos.EncryptionAlgorithm.load(element(der, algorithm)),
            mac,
            aad,
            authenticated,
        )
    except (BerError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise As2Error("unexpected-processing-error", f"unreadable EnvelopedData: {err}") from None
    return envelope, sealed
