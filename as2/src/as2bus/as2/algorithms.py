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


class SignatureScheme(StrEnum):
    """How the RSA signature itself is made (the digest is ``SigningAlg``)."""

    PKCS1V15 = "rsa-pkcs1v15"
    PSS = "rsassa-pss"  # RFC 4056: MGF1 with the same hash, salt as long as the digest


class EncryptionAlg(StrEnum):
    """What we encrypt with for a partner. We also read RC2-CBC from legacy partners, which
    is not offered here: nothing new should be sent with it."""

    TRIPLE_DES = "3des"
    AES128 = "aes128-cbc"
    AES192 = "aes192-cbc"
    AES256 = "aes256-cbc"
    #: CMS AuthEnvelopedData (RFC 5083/5084): the content is authenticated, not only secret.
    AES128_GCM = "aes128-gcm"
    AES256_GCM = "aes256-gcm"


class KeyTransport(StrEnum):
    """How the content-encryption key is wrapped for the partner's RSA certificate. Reading
    accepts PKCS#1 v1.5 and OAEP with SHA-1/224/256/384/512 whatever is set here."""

    RSA_PKCS1V15 = "rsa-pkcs1v15"
    RSA_OAEP_SHA256 = "rsa-oaep-sha256"


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
    "aes128gcm": EncryptionAlg.AES128_GCM,
    "aes256gcm": EncryptionAlg.AES256_GCM,
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
