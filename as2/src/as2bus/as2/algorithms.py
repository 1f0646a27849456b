"""The AS2 algorithm names we use, and the spellings partners send for them.

Partners write the same algorithm many ways (``sha1``, ``SHA-1``, ``sha-256``, ``3des``...).
Everything inside as2bus uses the canonical names below; `normalize_*` maps the rest.
"""

from __future__ import annotations

import re
from enum import StrEnum


class SigningAlg(StrEnum):
    SHA1 = "sha1"
    SHA224 = "sha224"
    SHA256 = "sha256"
    SHA384 = "sha384"
    SHA512 = "sha512"


class EncryptionAlg(StrEnum):
    TRIPLE_DES = "3des"
    AES128 = "aes128-cbc"
    AES192 = "aes192-cbc"
    AES256 = "aes256-cbc"


class Compression(StrEnum):
    NONE = "none"
    BEFORE_SIGNING = "before-signing"
    AFTER_SIGNING = "after-signing"


class TransferEncoding(StrEnum):
    BINARY = "binary"
    BASE64 = "base64"


_SIGNING_SPELLINGS = {
    "sha1": SigningAlg.SHA1,
    "sha224": SigningAlg.SHA224,
    "sha256": SigningAlg.SHA256,
    "sha384": SigningAlg.SHA384,
    "sha512": SigningAlg.SHA512,
}

# Keys are lower case with "-", "_" and spaces removed.
_ENCRYPTION_SPELLINGS = {
    "3des": EncryptionAlg.TRIPLE_DES,
    "tripledes": EncryptionAlg.TRIPLE_DES,
    "desede3": EncryptionAlg.TRIPLE_DES,
    "desede3cbc": EncryptionAlg.TRIPLE_DES,
    "tripledes192cbc": EncryptionAlg.TRIPLE_DES,
    "aes128": EncryptionAlg.AES128,
    "aes128cbc": EncryptionAlg.AES128,
    "aes192": EncryptionAlg.AES192,
    "aes192cbc": EncryptionAlg.AES192,
    "aes256": EncryptionAlg.AES256,
    "aes256cbc": EncryptionAlg.AES256,
}


def normalize_signing(name: str) -> SigningAlg:
    """``SHA-256``, ``sha_256``, ``rsa-sha256`` → ``sha256``. Raises ValueError if unknown."""
    key = re.sub(r"[-_\s]", "", name.lower()).removeprefix("rsa")
    try:
        return _SIGNING_SPELLINGS[key]
    except KeyError:
        known = ", ".join(a.value for a in SigningAlg)
        raise ValueError(f"unknown signing algorithm {name!r} (known: {known})") from None


def normalize_encryption(name: str) -> EncryptionAlg:
    """``AES-256-CBC``, ``aes_256_cbc``, ``3DES`` → canonical. Raises ValueError if unknown."""
    key = re.sub(r"[-_\s]", "", name.lower())
    try:
        return _ENCRYPTION_SPELLINGS[key]
    except KeyError:
        known = ", ".join(a.value for a in EncryptionAlg)
        raise ValueError(f"unknown encryption algorithm {name!r} (known: {known})") from None
