"""Decrypting CMS EnvelopedData, with reasons that name what cannot be done.

Not pyas2lib's ``decrypt_message``: it tries only the first RecipientInfo, unwraps RSAES-OAEP
only with SHA-1 (oscrypto), and its errors do not name what it cannot do. Here the RecipientInfo
naming one of our certificates is tried first, OAEP with SHA-2 is unwrapped with
``cryptography``, and AES-GCM (AuthEnvelopedData) or other ciphers are refused by name.
Every failure to decrypt reads the same, whatever step failed, so that the answer is no padding
oracle. ``decrypt`` takes the message in memory; ``decrypt_spooled`` one in a file (for
``spooled``), with the same key unwrapping (``content_keys``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from asn1crypto import algos
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import (
    BlockCipherAlgorithm,
    Cipher,
    CipherContext,
    algorithms,
    modes,
)
from cryptography.hazmat.primitives.padding import PaddingContext

from as2bus.as2._pyas2lib import asymmetric, private_key, symmetric
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

_KEY_SIZES = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32, "tripledes_3key": 24}


@dataclass(frozen=True)
class Envelope:
    """What is needed to find the content-encryption key, without the encrypted content."""

    cipher: str  # asn1crypto's name, one of _KEY_SIZES
    iv: bytes
    recipients: list[Any]  # KeyTransRecipientInfo
    oaep: list[tuple[str, str] | None]  # per recipient: see _oaep_hashes


def refuse_authenticated() -> As2Error:
    return As2Error(
        "decryption-failed",
        "AES-GCM (CMS AuthEnvelopedData) is not supported; ask the partner for AES-CBC",
    )


def failed(keys: Sequence[KeyPair]) -> As2Error:
    """The one answer for every key that did not open the content (no padding oracle)."""
    return As2Error(
        "decryption-failed", f"could not decrypt with any of our {len(keys)} key(s) in service"
    )


def decrypt(info: Any, keys: Sequence[KeyPair]) -> tuple[str, bytes]:
    """(cipher name, plaintext) of EnvelopedData, trying the keys (newest first) on the
    RecipientInfos, the ones naming a key's certificate first."""
    if info["content_type"].native == "authenticated_enveloped_data":
        raise refuse_authenticated()
    try:
        content = info["content"]
        sealed = content["encrypted_content_info"]["encrypted_content"].native
        envelope = read_envelope(
            content["recipient_infos"],
            content["encrypted_content_info"]["content_encryption_algorithm"],
        )
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise As2Error("unexpected-processing-error", f"unreadable EnvelopedData: {err}") from None
    for cek in content_keys(envelope, keys):
        plain = _open(envelope.cipher, cek, envelope.iv, sealed)
        if plain is not None:
            return envelope.cipher, plain
    raise failed(keys)


def read_envelope(recipient_infos: Any, algorithm: Any) -> Envelope:
    """RecipientInfos and the content-encryption AlgorithmIdentifier (asn1crypto values);
    ValueError/TypeError/KeyError/AttributeError for what cannot be read."""
    cipher = str(algorithm["algorithm"].native)
    iv = algorithm.encryption_iv if cipher in _KEY_SIZES else b""
    recipients = [r.chosen for r in recipient_infos if r.name == "ktri"]
    oaep = [_oaep_hashes(r["key_encryption_algorithm"]) for r in recipients]
    if cipher not in _KEY_SIZES:
        raise As2Error(
            "decryption-failed", f"content encryption {cipher} is not supported (AES-CBC, 3DES)"
        )
    if not recipients:
        raise As2Error("decryption-failed", "no RSA key-transport recipient in the message")
    return Envelope(cipher, bytes(iv), recipients, oaep)


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
    for recipient, hashes_, key in tries:
        cek = _unwrap(recipient["encrypted_key"].native, hashes_, key)
        if cek is not None and len(cek) == _KEY_SIZES[envelope.cipher]:
            yield cek


def decrypt_spooled(
    der: Range, keys: Sequence[KeyPair], out: BinaryIO, room: int, too_large: As2Error
) -> int:
    """Deciphers the EnvelopedData in ``der`` into ``out`` a chunk at a time; the plaintext's
    size, or ``too_large`` as soon as it exceeds ``room``. A wrong content key only shows at
    the end (the padding): the next candidate then deciphers from the start again."""
    envelope, sealed = spooled_envelope(der)
    for cek in content_keys(envelope, keys):
        out.seek(0)
        out.truncate()
        size = 0
        try:
            decryptor, unpadder = decipher(envelope, cek)
            for chunk in octets(der, sealed):
                plain = unpadder.update(decryptor.update(chunk))
                size += len(plain)
                if size > room:
                    raise too_large
                out.write(plain)
            plain = unpadder.update(decryptor.finalize()) + unpadder.finalize()
        except ValueError:  # a wrong key or damaged content: they read the same
            continue
        out.write(plain)
        return size + len(plain)
    raise failed(keys)


def decipher(envelope: Envelope, cek: bytes) -> tuple[CipherContext, PaddingContext]:
    """A streaming CBC decryptor and PKCS#7 unpadder (both raise ValueError at ``finalize``
    for a wrong key or damaged content)."""
    if envelope.cipher == "tripledes_3key":
        algorithm: BlockCipherAlgorithm = TripleDES(cek)
    else:
        algorithm = algorithms.AES(cek)
    decryptor = Cipher(algorithm, modes.CBC(envelope.iv)).decryptor()
    return decryptor, sym_padding.PKCS7(algorithm.block_size).unpadder()


def _oaep_hashes(algorithm: Any) -> tuple[str, str] | None:
    """None for RSA PKCS#1 v1.5; (hash, MGF1 hash) for RSAES-OAEP (defaults SHA-1)."""
    name = algorithm["algorithm"].native
    if name == "rsaes_pkcs1v15":
        return None
    if name != "rsaes_oaep":
        raise As2Error("decryption-failed", f"key transport {name} is not supported")
    params = algorithm["parameters"]
    if not params.native:
        return ("sha1", "sha1")
    mgf = params["mask_gen_algorithm"]["parameters"]["algorithm"].native
    return (str(params["hash_algorithm"]["algorithm"].native), str(mgf))


def _unwrap(wrapped: bytes, oaep: tuple[str, str] | None, key: KeyPair) -> bytes | None:
    try:
        if oaep is None:
            return bytes(asymmetric.rsa_pkcs1v15_decrypt(private_key(key)[0], wrapped))
        if oaep == ("sha1", "sha1"):
            return bytes(asymmetric.rsa_oaep_decrypt(private_key(key)[0], wrapped))
        # oscrypto's OAEP is SHA-1 only
        scheme = padding.OAEP(padding.MGF1(HASHES[oaep[1]]()), HASHES[oaep[0]](), None)
        return rsa_private_key(key.key_pem).decrypt(wrapped, scheme)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _open(cipher: str, cek: bytes, iv: bytes, sealed: bytes) -> bytes | None:
    try:
        if cipher == "tripledes_3key":
            return bytes(symmetric.tripledes_cbc_pkcs5_decrypt(cek, sealed, iv))
        return bytes(symmetric.aes_cbc_pkcs7_decrypt(cek, sealed, iv))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def spooled_envelope(der: Range) -> tuple[Envelope, Tlv]:
    """The Envelope of an EnvelopedData ContentInfo in a file, and the header of its
    encryptedContent (read with ``spool_io.octets``): only the small parts are loaded."""
    try:
        info = expect(der, der.start, 0x30)
        end_of(der, info)  # all of it is there (for BER: walks the headers, not the content)
        content_type = expect(der, info.content, 0x06)
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
        envelope = read_envelope(
            asn1_cms.RecipientInfos.load(element(der, recipients)),
            algos.EncryptionAlgorithm.load(element(der, algorithm)),
        )
    except (BerError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise As2Error("unexpected-processing-error", f"unreadable EnvelopedData: {err}") from None
    return envelope, sealed
