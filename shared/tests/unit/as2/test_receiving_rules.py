"""What a receiver refuses, and how: each with the RFC disposition modifier."""

from __future__ import annotations

import pytest

from as2bus.shared import as2
from as2bus.shared.algorithms import Compression
from as2bus.shared.as2 import KeyPair, LocalParty, RemoteParty


def parse(
    sent: as2.OutgoingMessage, me: LocalParty, them: RemoteParty, **kw: int
) -> as2.ReceivedMessage:
    return as2.parse_message(sent.headers, sent.body, lookup=lambda _f, _t: (me, them), **kw)


def test_a_signature_by_an_unknown_key_is_authentication_failed(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty, stranger_keys: KeyPair
) -> None:
    sent = as2.build_message(b"x", sender=alice, receiver=bob_as_seen_by_alice)
    wrong = RemoteParty(as2_id="ALICE", verify_certs=[stranger_keys.cert_pem])
    with pytest.raises(as2.As2Error) as err:
        parse(sent, bob, wrong)
    assert err.value.modifier == "authentication-failed"


def test_a_message_for_another_key_is_decryption_failed(
    alice: LocalParty, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, stranger_keys: KeyPair
) -> None:
    to_stranger = RemoteParty(as2_id="BOB", encrypt_cert=stranger_keys.cert_pem)
    sent = as2.build_message(b"x", sender=alice, receiver=to_stranger)
    with pytest.raises(as2.As2Error) as err:
        parse(sent, bob, alice_as_seen_by_bob)
    assert err.value.modifier == "decryption-failed"


def test_unsigned_or_unencrypted_when_required_is_insufficient_security(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    for change in ({"signing": None}, {"encryption": None}):
        receiver = RemoteParty(**{**bob_as_seen_by_alice.__dict__, **change})
        sent = as2.build_message(b"x", sender=alice, receiver=receiver)
        with pytest.raises(as2.As2Error) as err:
            parse(sent, bob, alice_as_seen_by_bob)
        assert err.value.modifier == "insufficient-message-security", change


def test_during_a_rotation_the_old_and_the_new_key_both_decrypt_and_verify(
    alice: LocalParty,
    alice_keys: KeyPair,
    bob_keys: KeyPair,
    stranger_keys: KeyPair,
    bob_as_seen_by_alice: RemoteParty,
) -> None:
    sent = as2.build_message(b"rotating", sender=alice, receiver=bob_as_seen_by_alice)
    # Bob now holds a new key (stranger's) first and the old one second.
    bob_rotating = LocalParty(
        as2_id="BOB", signing=stranger_keys, decryption=[stranger_keys, bob_keys]
    )
    alice_two_certs = RemoteParty(
        as2_id="ALICE", verify_certs=[stranger_keys.cert_pem, alice_keys.cert_pem]
    )
    assert parse(sent, bob_rotating, alice_two_certs).payload == b"rotating"


def test_truncated_or_garbage_bodies_are_refused_without_a_crash(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    sent = as2.build_message(b"x" * 2000, sender=alice, receiver=bob_as_seen_by_alice)
    for body in (sent.body[: len(sent.body) // 2], b"\x00garbage", b"   "):
        broken = as2.OutgoingMessage(sent.message_id, sent.headers, body, sent.mic, sent.mic_alg)
        with pytest.raises(as2.As2Error) as err:
            parse(broken, bob, alice_as_seen_by_bob)
        assert err.value.modifier in ("decryption-failed", "unexpected-processing-error")


def test_decompression_is_bounded(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    bomb = b"\0" * (4 * 1024 * 1024)  # compresses to a few KB
    receiver = RemoteParty(
        **{**bob_as_seen_by_alice.__dict__, "compression": Compression.BEFORE_SIGNING}
    )
    sent = as2.build_message(bomb, sender=alice, receiver=receiver)
    assert len(sent.body) < 64 * 1024
    with pytest.raises(as2.As2Error, match="exceeds"):
        parse(sent, bob, alice_as_seen_by_bob, max_payload_bytes=1024 * 1024)
    assert parse(sent, bob, alice_as_seen_by_bob, max_payload_bytes=8 * 1024 * 1024).payload == bomb


def test_headers_without_as2_ids_are_refused(
    bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    with pytest.raises(as2.As2Error, match="AS2-From"):
        as2.parse_message(
            {"Message-ID": "<x>"}, b"x", lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)
        )


def test_quoted_as2_names_are_unquoted() -> None:
    summary = as2.summarize_request(
        {"as2-from": '"ACME Corp"', "AS2-TO": "MYCO", "message-id": "<1@x>"}
    )
    assert (summary.as2_from, summary.as2_to, summary.message_id) == ("ACME Corp", "MYCO", "<1@x>")
    assert summary.mdn is None


def test_with_no_partner_certificate_in_service_a_signed_message_is_authentication_failed(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    sent = as2.build_message(b"x", sender=alice, receiver=bob_as_seen_by_alice)
    no_certs = RemoteParty(as2_id="ALICE", verify_certs=[])  # e.g. the only one expired
    with pytest.raises(as2.As2Error, match="no partner certificate is in service") as err:
        parse(sent, bob, no_certs)
    assert err.value.modifier == "authentication-failed"
