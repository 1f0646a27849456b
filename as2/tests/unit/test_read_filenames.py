"""Where a received document's filename comes from: its own entity's Content-Disposition,
else the HTTP request's (some products put it only there, encrypted-only messages
especially), never a CMS layer's name; always without directories."""

from __future__ import annotations

import pytest

from as2bus.as2 import LocalParty, RemoteParty

from .conftest import EDI, ENVELOPED, OpensslPeer, as2_headers, receive, replace


def bare_entity() -> bytes:
    """The document's entity without a Content-Disposition."""
    return b"Content-Type: application/edi-x12\r\nContent-Transfer-Encoding: binary\r\n\r\n" + EDI


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('attachment; filename="po-4711.edi"', "po-4711.edi"),
        ('attachment; filename="../../etc/po.edi"', "po.edi"),
        ('attachment; filename="smime.p7m"', None),  # the CMS layer's name, not the document's
        (None, None),
    ],
)
def test_an_encrypted_only_document_takes_the_requests_filename(
    peer: OpensslPeer,
    bob: LocalParty,
    alice_as_seen_by_bob: RemoteParty,
    disposition: str | None,
    expected: str | None,
) -> None:
    alice = replace(alice_as_seen_by_bob, require_signed=False)
    headers = as2_headers(ENVELOPED)
    if disposition is not None:
        headers["Content-Disposition"] = disposition
    got = receive(bob, alice, headers, peer.encrypt(bare_entity()))
    assert got.payload == EDI
    assert got.filename == expected


def test_the_documents_own_filename_comes_first(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    headers = {**as2_headers(ENVELOPED), "Content-Disposition": 'attachment; filename="x.edi"'}
    got = receive(bob, alice_as_seen_by_bob, headers, peer.encrypt(peer.sign(peer.entity())))
    assert got.filename == "po.x12"
