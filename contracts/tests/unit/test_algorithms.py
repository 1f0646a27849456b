"""The contracts' algorithm names are the codec's, member for member.

The contracts keep their own copy of the enums so that a system publishing a send request does
not install the codec; this test (run in the whole workspace, where the codec is installed)
keeps the two from drifting. A name added to the codec that partners may be configured with
belongs in the contracts too.
"""

from __future__ import annotations

from enum import StrEnum

import pytest

from as2bus.as2 import algorithms as codec
from as2bus.contracts import algorithms as contracts

NAMES = [
    "Compression",
    "EncryptionAlg",
    "KeyTransport",
    "SignatureScheme",
    "SigningAlg",
    "TransferEncoding",
]


def members(enum: type[StrEnum]) -> list[tuple[str, str]]:
    return [(member.name, member.value) for member in enum]


@pytest.mark.parametrize("name", NAMES)
def test_the_contracts_name_the_algorithms_as_the_codec_does(name: str) -> None:
    assert members(getattr(contracts, name)) == members(getattr(codec, name))


def test_every_enum_of_the_contracts_is_checked() -> None:
    enums = {
        name for name, value in vars(contracts).items()
        if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
    }  # fmt: skip
    assert enums == set(NAMES)


def test_a_contracts_value_is_the_codecs_value() -> None:
    """What the services rely on when they hand a partner's settings to the codec."""
    # Two enum types: seen as the strings they both are, they compare and hash as equal.
    signing: str = contracts.SigningAlg.SHA256
    assert signing == codec.SigningAlg.SHA256
    assert codec.SigningAlg(contracts.SigningAlg.SHA256) is codec.SigningAlg.SHA256
    by_codec_value: dict[str, int] = {codec.EncryptionAlg.AES256: 1}
    assert by_codec_value[contracts.EncryptionAlg.AES256] == 1
