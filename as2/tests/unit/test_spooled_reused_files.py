"""``parse_spooled`` in temporary files that were used before: services lend it files written
over rather than made anew (``as2bus.shared.recycled_files``), so a file holds an earlier
message's bytes past what this message writes. The parser reads only what it wrote: the same
result as ``parse_message``'s, whatever the files held."""

from __future__ import annotations

import dataclasses
import io
import tempfile
from typing import BinaryIO

import pytest

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty
from as2bus.as2.algorithms import Compression, EncryptionAlg, SigningAlg, TransferEncoding

from .conftest import EDI, replace
from .spooled_helpers import LIMIT, payload_of

#: Larger than every layer of these messages: each file has stale bytes past the new ones.
STALE = (b"STALE-" * 50_000)[: 256 * 1024]


class UsedFiles:
    """Temporary files full of an earlier message's bytes, positioned at their start."""

    def __init__(self) -> None:
        self.lent: list[BinaryIO] = []

    def __call__(self) -> BinaryIO:
        file = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by the parser or the test
        file.write(STALE)
        file.seek(0)
        self.lent.append(file)
        return file


def parsed_in_used_files(
    me: LocalParty, them: RemoteParty, sent: as2.OutgoingMessage
) -> tuple[as2.ReceivedMessage, bytes]:
    files = UsedFiles()
    got = as2.parse_spooled(
        sent.headers,
        io.BytesIO(sent.body),
        lookup=lambda _f, _t: (me, them),
        max_payload_bytes=LIMIT,
        new_file=files,
    )
    assert files.lent, "the parser made its files with new_file"
    payload = payload_of(got)
    assert [f for f in files.lent if not f.closed] == []
    return got, payload


@pytest.mark.parametrize("encoding", list(TransferEncoding))
@pytest.mark.parametrize(
    "encryption", [EncryptionAlg.AES256, EncryptionAlg.AES128_GCM, EncryptionAlg.TRIPLE_DES]
)
@pytest.mark.parametrize("compression", list(Compression))
@pytest.mark.parametrize("signing", [SigningAlg.SHA256, None])
def test_a_message_reads_the_same_in_files_used_before(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    signing: SigningAlg | None,
    compression: Compression,
    encryption: EncryptionAlg,
    encoding: TransferEncoding,
) -> None:
    receiver = replace(
        bob_as_seen_by_alice, signing=signing, encryption=encryption, encoding=encoding
    )
    receiver = replace(receiver, compression=compression)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver, filename="po.x12")
    them = replace(alice_as_seen_by_bob, require_signed=bool(signing), require_encrypted=True)
    expected = as2.parse_message(sent.headers, sent.body, lookup=lambda _f, _t: (bob, them))
    got, payload = parsed_in_used_files(bob, them, sent)
    assert payload == EDI
    assert dataclasses.replace(got, payload=payload, payload_file=None) == expected


def test_a_plaintext_shorter_than_the_file_is_not_read_past_its_end(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    """Unsigned, the document is the plaintext's body to its end: the end the decryption
    wrote, not the file's (which would deliver the stale bytes after it)."""
    receiver = replace(bob_as_seen_by_alice, signing=None, encryption=EncryptionAlg.AES256)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver, filename="po.x12")
    them = replace(alice_as_seen_by_bob, require_signed=False, require_encrypted=True)
    got, payload = parsed_in_used_files(bob, them, sent)
    assert payload == EDI
    assert b"STALE" not in payload
    assert got.payload_file is not None
    assert got.payload_file.size == len(EDI)
