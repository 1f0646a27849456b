import pytest

from as2bus.as2.algorithms import (
    EncryptionAlg,
    SigningAlg,
    normalize_encryption,
    normalize_signing,
)


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("sha1", SigningAlg.SHA1),
        ("SHA-1", SigningAlg.SHA1),
        ("sha-256", SigningAlg.SHA256),
        ("SHA256", SigningAlg.SHA256),
        ("sha_384", SigningAlg.SHA384),
        ("rsa-sha512", SigningAlg.SHA512),
        (" sha224 ", SigningAlg.SHA224),
    ],
)
def test_signing_spellings_partners_use(spelling: str, expected: SigningAlg) -> None:
    assert normalize_signing(spelling) is expected


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("3des", EncryptionAlg.TRIPLE_DES),
        ("3DES", EncryptionAlg.TRIPLE_DES),
        ("des-ede3-cbc", EncryptionAlg.TRIPLE_DES),
        ("tripledes_192_cbc", EncryptionAlg.TRIPLE_DES),
        ("AES-128-CBC", EncryptionAlg.AES128),
        ("aes_192_cbc", EncryptionAlg.AES192),
        ("aes256", EncryptionAlg.AES256),
        ("aes256-cbc", EncryptionAlg.AES256),
    ],
)
def test_encryption_spellings_partners_use(spelling: str, expected: EncryptionAlg) -> None:
    assert normalize_encryption(spelling) is expected


def test_unknown_names_are_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(ValueError, match=r"unknown signing algorithm 'md5' \(known: sha1"):
        normalize_signing("md5")
    with pytest.raises(ValueError, match="unknown encryption algorithm 'rc2'"):
        normalize_encryption("rc2")
