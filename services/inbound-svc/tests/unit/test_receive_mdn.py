"""A partner's async MDN for a message we sent (``MdnReceiver.receive``): checked against the
partner's certificates, kept as it came (the record that it signed for our document), and
reported on the bus as MdnReceived, which outbound-svc waits for to settle the message."""

from __future__ import annotations

import dataclasses

import pytest

from as2bus import as2
from as2bus.contracts import MdnReceived
from as2bus.inbound.domain import RETRY_AFTER_SECONDS
from as2bus.shared.bus.documents import mdn_object_name, raw_http_message
from as2bus.shared.crypto import certificate_fingerprint

from ..fakes import document_ref
from .receiving import EDI, PARTNER, STATION, inbound, key_pair, partnership

SENT_ID = "<sent-1@myco>"


def our_message_to_acme() -> as2.OutgoingMessage:
    acme = key_pair("acme")
    to_acme = as2.RemoteParty(
        as2_id=PARTNER,
        encrypt_cert=acme.cert_pem,
        mdn_mode="async",
        async_mdn_url="https://myco.example/as2",
    )
    myco = as2.LocalParty(as2_id=STATION, signing=key_pair("myco"))
    return as2.build_message(EDI, sender=myco, receiver=to_acme, message_id=SENT_ID)


def acme_answers(
    sent: as2.OutgoingMessage, *, signer: as2.KeyPair | None = None
) -> as2.OutgoingMdn:
    """ACME's AS2 software: reads our message and signs its MDN (with its key, or ``signer``)."""
    acme, myco = key_pair("acme"), key_pair("myco")

    def lookup(_from: str, _to: str) -> tuple[as2.LocalParty, as2.RemoteParty]:
        return (
            as2.LocalParty(as2_id=PARTNER, signing=acme, decryption=[acme]),
            as2.RemoteParty(as2_id=STATION, verify_certs=[myco.cert_pem]),
        )

    received = as2.parse_message(sent.headers, sent.body, lookup=lookup)
    return as2.build_mdn(received, local=as2.LocalParty(PARTNER, signing=signer or acme))


async def test_a_partners_signed_mdn_is_kept_as_it_came_and_reported() -> None:
    sut = inbound()
    sent = our_message_to_acme()
    mdn = acme_answers(sent)

    answer = await sut.mdn_receiver.receive(mdn.headers, mdn.body)

    assert (answer.status_code, answer.body) == (200, b"")
    as_it_came = raw_http_message(list(mdn.headers.items()), mdn.body)
    name = mdn_object_name(SENT_ID)
    assert sut.documents.objects == {name: as_it_came}
    (reported,) = sut.bus.events
    assert isinstance(reported, MdnReceived)
    assert reported.correlation_id == SENT_ID
    assert sent.mic is not None
    assert reported.data.model_dump(exclude_none=True) == {
        "original_message_id": SENT_ID,
        "station": STATION,
        "partner": PARTNER,
        "disposition": "processed",
        "text": f"The AS2 message {SENT_ID} from {STATION} has been received and processed.",
        "mic": sent.mic,
        "mic_alg": "sha256",
        "signed": True,
        "signature_valid": True,
        "mode": "async",
        "raw": document_ref(name, as_it_came).model_dump(),
        "verified_with": certificate_fingerprint(key_pair("acme").cert_pem),
    }
    assert (sut.ledger.rows, sut.mdns.queued) == ({}, [])  # nothing received, nothing to send


async def test_an_mdn_signed_with_another_key_is_reported_as_not_verified() -> None:
    """Reported, not refused: outbound-svc judges it (and tells the operator)."""
    sut = inbound()
    mdn = acme_answers(our_message_to_acme(), signer=key_pair("stranger"))

    answer = await sut.mdn_receiver.receive(mdn.headers, mdn.body)

    assert answer.status_code == 200
    (reported,) = sut.bus.of_type(MdnReceived)
    assert (reported.data.signed, reported.data.signature_valid) == (True, False)
    assert reported.data.verified_with is None


@pytest.mark.parametrize("accepted", [True, False], ids=["late-renewal-accepted", "strict"])
async def test_an_mdn_signed_with_an_expired_certificate_counts_only_where_accepted(
    accepted: bool,
) -> None:
    """Some partners renew their certificate late: their setting decides whether an MDN
    signed with the expired one is verified."""
    expired = key_pair("acme", expired=True)
    usual = partnership()
    partner = usual.partner.model_copy(update={"accept_expired_mdn_certificate": accepted})
    remote = dataclasses.replace(usual.remote, verify_certs=[expired.cert_pem])
    sut = inbound(dataclasses.replace(usual, partner=partner, remote=remote))
    mdn = acme_answers(our_message_to_acme(), signer=expired)

    assert (await sut.mdn_receiver.receive(mdn.headers, mdn.body)).status_code == 200

    (reported,) = sut.bus.of_type(MdnReceived)
    assert reported.data.signature_valid is accepted
    fingerprint = certificate_fingerprint(expired.cert_pem) if accepted else None
    assert reported.data.verified_with == fingerprint


async def test_an_mdn_from_a_stranger_is_a_403_and_neither_kept_nor_reported() -> None:
    sut = inbound()
    mdn = acme_answers(our_message_to_acme())
    headers = {**mdn.headers, "AS2-From": "EVIL"}

    answer = await sut.mdn_receiver.receive(headers, mdn.body)

    assert (answer.status_code, answer.body) == (403, b"unknown-trading-partner: 'EVIL'\n")
    assert (sut.bus.events, sut.documents.objects) == ([], {})


async def test_an_unreadable_mdn_is_a_400_saying_why() -> None:
    sut = inbound()
    mdn = acme_answers(our_message_to_acme())
    headers = {**mdn.headers, "Content-Type": "multipart/report; boundary=nothing-like-it"}

    answer = await sut.mdn_receiver.receive(headers, b"--elsewhere\r\n\r\nhello\r\n")

    assert answer.status_code == 400
    why = "the multipart body has no boundary 'nothing-like-it'"
    assert answer.body == f"not a readable MDN: {why}\n".encode()
    assert (sut.bus.events, sut.documents.objects) == ([], {})


async def test_an_mdn_that_cannot_be_kept_is_still_reported() -> None:
    sut = inbound()
    sut.documents.down = True
    mdn = acme_answers(our_message_to_acme())

    assert (await sut.mdn_receiver.receive(mdn.headers, mdn.body)).status_code == 200

    (reported,) = sut.bus.of_type(MdnReceived)
    assert (reported.data.disposition, reported.data.raw) == ("processed", None)


@pytest.mark.parametrize(
    "as2_to", [PARTNER, "NOBODY", None], ids=["the-partner", "unknown", "missing"]
)
async def test_an_mdn_addressed_to_none_of_our_stations_is_a_403_and_neither_kept_nor_reported(
    as2_to: str | None,
) -> None:
    sut = inbound()
    mdn = acme_answers(our_message_to_acme())
    headers = {k: v for k, v in mdn.headers.items() if k.lower() != "as2-to"}
    if as2_to is not None:
        headers["AS2-To"] = as2_to

    answer = await sut.mdn_receiver.receive(headers, mdn.body)

    assert answer.status_code == 403
    why = f"the MDN is addressed to {as2_to!r}, none of our stations"
    assert answer.body == f"unknown-trading-partner: {why}\n".encode()
    assert (sut.bus.events, sut.documents.objects) == ([], {})


async def test_an_mdn_that_cannot_be_reported_is_a_503_and_its_resend_is_reported() -> None:
    """Outbound-svc settles the message on MdnReceived: an MDN taken with a 2xx but never
    reported would leave it unsettled, so the partner is asked to send it again (503 with
    Retry-After); the resend is reported once, and kept as it came under the same name."""
    sut = inbound()
    sut.bus.down = True
    mdn = acme_answers(our_message_to_acme())

    answer = await sut.mdn_receiver.receive(mdn.headers, mdn.body)

    assert answer.status_code == 503
    assert answer.headers == {"Content-Type": "text/plain", "Retry-After": str(RETRY_AFTER_SECONDS)}
    assert answer.body == b"could not take the MDN just now; please send it again later\n"
    assert sut.bus.events == []

    sut.bus.down = False
    assert (await sut.mdn_receiver.receive(mdn.headers, mdn.body)).status_code == 200
    (reported,) = sut.bus.of_type(MdnReceived)
    assert reported.data.original_message_id == SENT_ID
    as_it_came = raw_http_message(list(mdn.headers.items()), mdn.body)
    assert sut.documents.objects == {mdn_object_name(SENT_ID): as_it_came}
