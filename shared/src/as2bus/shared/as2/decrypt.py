"""Decrypting CMS EnvelopedData, with reasons that name what cannot be done.

Not pyas2lib's ``decrypt_message``: it tries only the first RecipientInfo, unwraps RSAES-OAEP
only with SHA-1 (oscrypto), and its errors do not name what it cannot do. Here the RecipientInfo
naming one of our certificates is tried first, OAEP with SHA-2 is unwrapped with
``cryptography``, and AES-GCM (AuthEnvelopedData) or other ciphers are refused by name.
Every failure to decrypt reads the same, whatever step failed, so that the answer is no padding
oracle.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from as2bus.shared.as2._pyas2lib import asymmetric, private_key, symmetric
from as2bus.shared.as2.cms import HASHES, names
from as2bus.shared.as2.model import As2Error, KeyPair

_KEY_SIZES = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32, "tripledes_3key": 24}


def decrypt(info: Any, keys: Sequence[KeyPair]) -> tuple[str, bytes]:
    """(cipher name, plaintext) of EnvelopedData, trying the keys (newest first) on the
    RecipientInfos, the ones naming a key's certificate first."""
    if info["content_type"].native == "authenticated_enveloped_data":
        raise As2Error(
            "decryption-failed",
            "AES-GCM (CMS AuthEnvelopedData) is not supported; ask the partner for AES-CBC",
        )
    try:
        content = info["content"]
        algorithm = content["encrypted_content_info"]["content_encryption_algorithm"]
        cipher = str(algorithm["algorithm"].native)
        iv = algorithm.encryption_iv if cipher in _KEY_SIZES else None
        sealed = content["encrypted_content_info"]["encrypted_content"].native
        recipients = [r.chosen for r in content["recipient_infos"] if r.name == "ktri"]
        oaep = [_oaep_hashes(r["key_encryption_algorithm"]) for r in recipients]
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise As2Error("unexpected-processing-error", f"unreadable EnvelopedData: {err}") from None
    if cipher not in _KEY_SIZES:
        raise As2Error(
            "decryption-failed", f"content encryption {cipher} is not supported (AES-CBC, 3DES)"
        )
    if not recipients:
        raise As2Error("decryption-failed", "no RSA key-transport recipient in the message")
    if not keys:
        raise As2Error("decryption-failed", "no decryption key of ours is in service")
    tries = sorted(
        ((r, o, k) for r, o in zip(recipients, oaep, strict=True) for k in keys),
        key=lambda t: not names(t[0]["rid"], t[2].cert_pem),
    )
    for recipient, hashes_, key in tries:
        plain = _open(recipient["encrypted_key"].native, hashes_, key, cipher, iv, sealed)
        if plain is not None:
            return cipher, plain
    raise As2Error(
        "decryption-failed", f"could not decrypt with any of our {len(keys)} key(s) in service"
    )


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


def _open(
    wrapped: bytes, oaep: tuple[str, str] | None, key: KeyPair, cipher: str, iv: Any, sealed: bytes
) -> bytes | None:
    try:
        if oaep is None:
            cek = asymmetric.rsa_pkcs1v15_decrypt(private_key(key)[0], wrapped)
        elif oaep == ("sha1", "sha1"):
            cek = asymmetric.rsa_oaep_decrypt(private_key(key)[0], wrapped)
        else:  # oscrypto's OAEP is SHA-1 only
            scheme = padding.OAEP(padding.MGF1(HASHES[oaep[1]]()), HASHES[oaep[0]](), None)
            cek = _crypto_key(key.key_pem).decrypt(wrapped, scheme)
        if len(cek) != _KEY_SIZES[cipher]:
            return None  # a wrong key that happened to unpad
        if cipher == "tripledes_3key":
            return bytes(symmetric.tripledes_cbc_pkcs5_decrypt(cek, sealed, iv))
        return bytes(symmetric.aes_cbc_pkcs7_decrypt(cek, sealed, iv))
    except (OSError, ValueError, TypeError, KeyError):
        return None


@functools.lru_cache(maxsize=256)
def _crypto_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key")
    return key
