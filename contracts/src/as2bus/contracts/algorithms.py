"""The AS2 algorithm names the contracts carry (a partner's settings, a send's overrides).

The codec (``as2bus.as2.algorithms``) has the same enums: the contracts keep their own copy so
that a system publishing a send request does not install the codec and its cryptography. A
unit test (contracts/tests/unit/test_algorithms.py) holds the two equal, member for member.
The spellings partners use for them (``SHA-256``, ``3DES``...) are the codec's to normalize.
"""

from __future__ import annotations

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
