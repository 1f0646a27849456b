"""Messages ``Receiver.receive`` refuses: not protected as the partnership requires, or from
or to someone it has no partnership with. Nothing is claimed, stored or announced as
received; MessageRejected says why in words a person can act on, and the partner gets a
negative MDN where it asked for a sync one. A refused message has not shown who sent it, so
one asking for an async MDN gets its answer on the same connection (a 4xx saying why), never
a POST to the URL it names: anyone can name any URL, and claim to be any partner."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from as2bus.contracts import MdnSent, MessageRejected
from as2bus.inbound.parties import Parties

from .receiving import (
    ASYNC_URL,
    PARTNER,
    STATION,
    acme_sends,
    inbound,
    key_pair,
    partnership,
    read_our_mdn,
)

MESSAGE_ID = "<refused@acme>"
NO_PARTNERSHIP = "no partnership between station 'MYCO' and partner 'EVIL'"
NOT_POSTED = (
    "; no MDN was sent to https://acme.example/as2/mdn, as an asynchronous MDN goes only to a "
    "sender whose message could be authenticated\n"
)


def rejection(events: list[MessageRejected]) -> dict[str, object]:
    (rejected,) = events
    assert rejected.correlation_id == MESSAGE_ID
    return rejected.data.model_dump(exclude_none=True)


@pytest.mark.parametrize(
    ("signed", "encrypted", "reason"),
    [
        (False, True, "messages from ACME must be signed"),
        (True, False, "messages from ACME must be encrypted; this one is multipart/signed"),
    ],
    ids=["unsigned", "unencrypted"],
)
async def test_less_security_than_required_is_refused_with_a_negative_mdn(
    signed: bool, encrypted: bool, reason: str
) -> None:
    sut = inbound(partnership(require_signed=True, require_encrypted=True))
    sent = acme_sends(message_id=MESSAGE_ID, signed=signed, encrypted=encrypted)

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert answer.status_code == 200  # the MDN is the answer, and it says no
    mdn = read_our_mdn(answer.headers, answer.body)
    assert (mdn.original_message_id, mdn.disposition) == (MESSAGE_ID, "failed")
    assert (mdn.modifier, mdn.signature_valid, mdn.mic) == (
        "insufficient-message-security",
        True,
        None,  # nothing was processed: no MIC to vouch for
    )
    assert reason in (mdn.text or "")
    assert rejection(sut.bus.of_type(MessageRejected)) == {
        "direction": "inbound",
        "message_id": MESSAGE_ID,
        "station": STATION,
        "partner": PARTNER,
        "modifier": "insufficient-message-security",
        "code": "insufficient-message-security",
        "reason": reason,
    }
    (sent_mdn,) = sut.bus.of_type(MdnSent)
    assert (sent_mdn.data.disposition, sent_mdn.data.modifier, sent_mdn.data.signed) == (
        "failed",
        "insufficient-message-security",
        True,
    )
    assert (sut.documents.objects, sut.ledger.rows) == ({}, {})


async def test_an_unsigned_message_asking_no_mdn_is_a_400_saying_why() -> None:
    sut = inbound(partnership(require_signed=True))
    sent = acme_sends(message_id=MESSAGE_ID, signed=False, mdn=None)

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert answer.status_code == 400
    assert answer.body == b"insufficient-message-security: messages from ACME must be signed\n"
    assert sut.bus.types == ["MessageRejected"]
    assert (sut.documents.objects, sut.ledger.rows) == ({}, {})


#: Messages refused before their sender is established, each claiming to be from ACME (or
#: from a stranger) and asking for an async MDN: (the partnership, how the message is sent,
#: the status, the modifier).
UNAUTHENTICATED: dict[str, tuple[Parties, dict[str, Any], int, str]] = {
    "unsigned": (
        partnership(require_signed=True),
        {"signed": False},
        400,
        "insufficient-message-security",
    ),
    "signed-by-someone-else": (
        partnership(),
        {"signer": key_pair("mallory")},
        400,
        "authentication-failed",
    ),
    "unsigned-and-not-for-our-key": (
        partnership(require_signed=False),
        {"signed": False, "encrypted_for": key_pair("mallory")},
        400,
        "decryption-failed",
    ),
    "stranger": (partnership(), {"sender": "EVIL"}, 403, "unknown-trading-partner"),
}


@pytest.mark.parametrize(
    ("parties", "how", "status", "modifier"), UNAUTHENTICATED.values(), ids=UNAUTHENTICATED
)
async def test_an_unauthenticated_message_asking_an_async_mdn_gets_a_4xx_and_nothing_is_posted(
    parties: Parties,
    how: dict[str, Any],
    status: int,
    modifier: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The URL is the sender's choice, and the AS2-From anyone's claim: POSTing to it would let
    anyone make us call any address, an internal one too (server-side request forgery)."""
    sut = inbound(parties)
    sent = acme_sends(message_id=MESSAGE_ID, mdn="async", **how)

    with caplog.at_level(logging.WARNING, logger="as2bus.inbound.replies"):
        answer = await sut.receiver.receive(sent.headers, sent.body)

    (rejected,) = sut.bus.of_type(MessageRejected)
    assert rejected.data.modifier == modifier
    assert answer.status_code == status
    assert answer.headers == {"Content-Type": "text/plain"}
    # The partner is told why; a stranger only that there is no partnership (not which of
    # our AS2 IDs exist), what our operators are told in more words.
    told_partner = NO_PARTNERSHIP if modifier == "unknown-trading-partner" else rejected.data.reason
    assert answer.body == f"{modifier}: {told_partner}{NOT_POSTED}".encode()
    assert sut.mdns.queued == []
    assert sut.bus.types == ["MessageRejected"]  # no MdnSent: no MDN
    assert (sut.documents.objects, sut.ledger.rows) == ({}, {})
    told = [r.getMessage() for r in caplog.records if "no MDN sent" in r.getMessage()]
    assert told == [
        f"no MDN sent to {ASYNC_URL} for {MESSAGE_ID} (claiming to be from "
        f"{how.get('sender', PARTNER)}): its sender is not authenticated; answered {status} "
        "instead"
    ]


async def test_the_url_shown_for_an_mdn_not_sent_carries_no_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sut = inbound(partnership(require_signed=True))
    sent = acme_sends(message_id=MESSAGE_ID, signed=False, mdn="async")
    url = "https://acme:s3cret@acme.example/as2/mdn?token=t0ken#x"
    headers = {**sent.headers, "Receipt-Delivery-Option": url}

    with caplog.at_level(logging.WARNING, logger="as2bus.inbound.replies"):
        answer = await sut.receiver.receive(headers, sent.body)

    assert answer.status_code == 400
    assert answer.body.endswith(NOT_POSTED.encode())
    assert f"no MDN sent to {ASYNC_URL} for" in caplog.text
    for secret in ("s3cret", "t0ken"):
        assert secret not in caplog.text
        assert secret.encode() not in answer.body
    assert sut.mdns.queued == []


async def test_a_verified_message_refused_later_gets_no_async_mdn_yet() -> None:
    """A limit of today: ACME signed this message and the signature verifies, but the codec
    refuses it afterwards (several documents in a multipart/mixed) and its As2Error does not
    say that the signature had verified, so the receiver cannot tell it from a forgery and
    answers it as one. When the codec says so, this gets its negative MDN queued instead."""
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, mdn="async", content_type="multipart/mixed")

    answer = await sut.receiver.receive(sent.headers, sent.body)

    (rejected,) = sut.bus.of_type(MessageRejected)
    assert rejected.data.modifier == "unexpected-processing-error"
    assert "multipart/mixed" in rejected.data.reason
    assert answer.status_code == 400
    assert answer.body.endswith(NOT_POSTED.encode())
    assert sut.mdns.queued == []


async def test_a_stranger_gets_a_negative_mdn_signed_by_the_station_it_addressed() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, sender="EVIL")

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert answer.status_code == 200
    mdn = read_our_mdn(answer.headers, answer.body)
    assert (mdn.disposition, mdn.modifier, mdn.signature_valid) == (
        "failed",
        "unknown-trading-partner",
        True,
    )
    assert NO_PARTNERSHIP in (mdn.text or "")
    assert rejection(sut.bus.of_type(MessageRejected)) == {
        "direction": "inbound",
        "message_id": MESSAGE_ID,
        "station": STATION,
        "partner": "EVIL",
        "modifier": "unknown-trading-partner",
        "code": "unknown-trading-partner",
        "reason": "we have no partner 'EVIL'",  # our operators are told which AS2 ID is unknown
    }
    assert (sut.documents.objects, sut.ledger.rows) == ({}, {})


async def test_a_message_to_a_station_we_do_not_have_gets_an_unsigned_negative_mdn() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, to="NOBODY")

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert answer.status_code == 200
    mdn = read_our_mdn(answer.headers, answer.body)
    assert (mdn.disposition, mdn.modifier, mdn.signed) == (
        "failed",
        "unknown-trading-partner",
        False,  # no key of ours to sign with
    )
    (sent_mdn,) = sut.bus.of_type(MdnSent)
    assert (sent_mdn.data.station, sent_mdn.data.signed) == ("NOBODY", False)
    assert rejection(sut.bus.of_type(MessageRejected))["reason"] == "we have no station 'NOBODY'"


async def test_our_station_id_in_another_case_is_named_to_our_operators_only() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, to=STATION.lower())

    answer = await sut.receiver.receive(sent.headers, sent.body)

    mdn = read_our_mdn(answer.headers, answer.body)
    assert (mdn.disposition, mdn.modifier) == ("failed", "unknown-trading-partner")
    # The partner learns no AS2 ID of ours it did not give: it could probe for them.
    assert STATION not in (mdn.text or "")
    assert f"no partnership between station 'myco' and partner {PARTNER!r}" in (mdn.text or "")
    assert rejection(sut.bus.of_type(MessageRejected))["reason"] == (
        "we have no station 'myco' (did you mean 'MYCO'? AS2 IDs are case-sensitive)"
    )


async def test_a_stranger_asking_no_mdn_is_a_403_saying_why() -> None:
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, sender="EVIL", mdn=None)

    answer = await sut.receiver.receive(sent.headers, sent.body)

    assert answer.status_code == 403
    assert answer.body == f"unknown-trading-partner: {NO_PARTNERSHIP}\n".encode()
    assert sut.bus.types == ["MessageRejected"]


async def test_a_huge_as2_from_is_cut_in_the_answer_and_the_operators_reason() -> None:
    """No AS2 name is over 128 characters: a 10 KB one is not echoed whole."""
    sut = inbound()
    sent = acme_sends(message_id=MESSAGE_ID, mdn=None)
    huge = "A" * 10_000

    answer = await sut.receiver.receive({**sent.headers, "AS2-From": huge}, sent.body)

    cut = f"'{'A' * 128}... (10000 characters in all)'"
    assert answer.status_code == 403
    assert (
        answer.body
        == (
            f"unknown-trading-partner: no partnership between station 'MYCO' and partner {cut}\n"
        ).encode()
    )
    assert rejection(sut.bus.of_type(MessageRejected))["reason"] == f"we have no partner {cut}"
