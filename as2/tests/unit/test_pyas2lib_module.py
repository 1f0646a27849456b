"""``_pyas2lib``: the oscrypto version fix, pyas2lib's debug logging removed, conversions."""

from __future__ import annotations

import re

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty
from as2bus.as2.algorithms import Compression, EncryptionAlg, SigningAlg
from as2bus.peers import pyas2lib_peer

from .conftest import openssl, replace

VERSION = "OpenSSL 3.0.19 27 Jan 2026 (Library: OpenSSL 3.0.19 27 Jan 2026)"


def test_oscryptos_pattern_cannot_read_a_two_digit_patch_number_without_the_fix() -> None:
    real_search = re.search
    assert re.search(pyas2lib_peer._OSCRYPTO_VERSION_PATTERN, VERSION) is None  # why the fix exists
    with pyas2lib_peer._two_digit_openssl_patch_versions():
        found = re.search(pyas2lib_peer._OSCRYPTO_VERSION_PATTERN, VERSION)
        assert found is not None
        assert found.group(1) == "3.0.19"
        assert re.search(r"\d+", "other patterns are untouched") is None
        assert re.search(r"(\d)\.", "1.2").group(1) == "1"  # type: ignore[union-attr]
    assert re.search(pyas2lib_peer._OSCRYPTO_VERSION_PATTERN, VERSION) is None  # restored after
    assert re.search is real_search  # the real function is back


def test_oscrypto_loaded_the_machines_openssl_with_its_real_version() -> None:
    line = openssl("version").decode()  # e.g. "OpenSSL 3.0.19 27 Jan 2026 (Library: ...)"
    library = re.search(r"Library: OpenSSL (\d+)\.(\d+)\.(\d+)", line) or re.search(
        r"OpenSSL (\d+)\.(\d+)\.(\d+)", line
    )
    assert library is not None
    assert pyas2lib_peer.OPENSSL_VERSION_INFO[:3] == tuple(int(p) for p in library.groups())


def test_our_parties_converted_for_pyas2lib(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    org = pyas2lib_peer.to_organization(alice, mdn_url="https://alice.example/mdn")
    assert (org.as2_name, org.mdn_url) == ("ALICE", "https://alice.example/mdn")
    assert org.sign_key == pyas2lib_peer.private_key(alice.signing)
    assert org.decrypt_key == pyas2lib_peer.private_key(alice.decryption[0])
    remote = replace(
        bob_as_seen_by_alice,
        signing=SigningAlg.SHA384,
        encryption=EncryptionAlg.TRIPLE_DES,
        compression=Compression.BEFORE_SIGNING,
        mdn_mode="async",
        mdn_signing=SigningAlg.SHA512,
    )
    partner = pyas2lib_peer.to_partner(remote)
    assert (partner.as2_name, partner.sign, partner.digest_alg) == ("BOB", True, "sha384")
    assert (partner.encrypt, partner.enc_alg, partner.compress) == (
        True,
        "tripledes_192_cbc",
        True,
    )
    assert (partner.mdn_mode, partner.mdn_digest_alg) == ("ASYNC", "sha512")
    assert partner.verify_cert == remote.verify_certs[0]
    unsigned = pyas2lib_peer.to_partner(
        replace(remote, signing=None, encryption=None, mdn_mode=None)
    )
    assert (unsigned.sign, unsigned.encrypt, unsigned.mdn_mode) == (False, False, None)


def test_a_message_pyas2lib_builds_comes_back_as_ours_and_parses(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    message = pyas2lib_peer.pyas2.Message(
        pyas2lib_peer.to_organization(alice), pyas2lib_peer.to_partner(bob_as_seen_by_alice)
    )
    message.build(b"ISA*00~\r\n", filename="po.x12", content_type="application/octet-stream")
    sent = pyas2lib_peer.to_outgoing(message)
    assert sent.mic_alg == SigningAlg.SHA256
    got = as2.parse_message(
        sent.headers, sent.body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)
    )
    assert (got.payload, got.filename, got.mic) == (b"ISA*00~\r\n", "po.x12", sent.mic)
