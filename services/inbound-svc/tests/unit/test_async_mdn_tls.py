"""Async MDNs speak the partner's TLS settings (adapters/mdn_sender.py), against real TLS servers
on loopback: the partner's private CA, its pins (a mismatch sends no byte of the MDN), our
client certificate of the partnership (found in the key ring by the real PartyResolver), and
failures in outbound-svc's words."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from as2bus.contracts import KeyMaterialEntry, PartnerState
from as2bus.contracts.config import PartnerTls
from as2bus.inbound.adapters.mdn_network import MdnNetwork
from as2bus.inbound.adapters.mdn_sender import MdnSender, Posted
from as2bus.inbound.mdn_targets import MdnTargets, networks
from as2bus.inbound.parties import PartyResolver
from as2bus.shared.keyring import KeyRing
from as2bus.shared.partner_tls.clients import PartnerClients
from as2bus.testing.config_states import paired_replica, partner_state, station_state
from as2bus.testing.key_material import certificate_entry
from as2bus.testing.tls import (
    PartnerServer,
    PrivateCa,
    certificate_sha256,
    public_key_sha256,
    server_context,
)
from as2bus.testing.waiting import until

CA = PrivateCa("the partner's CA")
SERVER = CA.issue()
#: Our key and certificate of the partnership, self-signed as cert-svc makes them.
OURS = PrivateCa("unused").issue_client("MYCO", self_signed=True)
MDN = b"the signed MDN"
HEADERS = {"Content-Type": "multipart/signed", "AS2-From": "MYCO", "AS2-To": "ACME"}
#: The test partners' servers are on loopback: allowed, as `as2bus up` allows its demo's.
LOOPBACK = MdnNetwork(MdnTargets(networks(["127.0.0.0/8", "::1/128"])))


class Keys:
    """KeyMaterialClient's face: one key of ours, under the station's alias."""

    def __init__(self) -> None:
        entry = certificate_entry("myco", "own")
        self.entry = entry.model_copy(update={"cert_pem": OURS[1].decode()})

    async def keyring(self, *, fresh: bool = False) -> KeyRing:
        return KeyRing([self.entry])

    def private_key_pem(self, entry: KeyMaterialEntry) -> bytes:
        assert entry == self.entry
        return OURS[0]


@pytest.fixture
def servers() -> Iterator[list[PartnerServer]]:
    started: list[PartnerServer] = []
    yield started
    for server in started:
        server.close()


@pytest.fixture
async def clients() -> AsyncIterator[PartnerClients]:
    kept = PartnerClients(lambda: httpx.AsyncClient(timeout=5), ca_bundle=None, timeout=5)
    yield kept
    await kept.aclose()


def serve(servers: list[PartnerServer], **options: Any) -> PartnerServer:
    server = PartnerServer(server_context(SERVER, **options))
    servers.append(server)
    return server


def acme(**tls: Any) -> PartnerState:
    return partner_state("ACME", tls=PartnerTls(**tls))


async def post(clients: PartnerClients, partner: PartnerState, url: str) -> Posted:
    resolver = PartyResolver(paired_replica(station_state("MYCO"), partner), Keys())  # type: ignore[arg-type]
    sender = MdnSender(clients, resolver, LOOPBACK)
    return await sender.post(url, HEADERS, MDN, station="MYCO", partner="ACME")


async def test_the_partner_s_ca_is_trusted_for_its_mdn_and_without_it_the_mdn_is_refused(
    clients: PartnerClients, servers: list[PartnerServer]
) -> None:
    server = serve(servers)
    trusted = acme(ca_bundle_pem=CA.cert_pem.decode())
    assert await post(clients, trusted, server.url("/mdn")) == Posted(None)
    assert [(r.target, r.body) for r in server.requests] == [("/mdn", MDN)]
    refused = await post(clients, acme(min_version="1.3"), server.url("/mdn"))
    assert refused == Posted(
        f"TLS: the certificate of {server.url('/mdn')} is not trusted (unable to get local "
        "issuer certificate: issued by a CA we do not trust); not retried: the partner must fix "
        "its certificate (or the URL its host name), or its CA be added to the partner's TLS "
        "settings",
        retryable=False,
    )
    assert len(server.requests) == 1


async def test_a_pin_mismatch_refuses_the_mdn_before_any_byte_of_it(
    clients: PartnerClients, servers: list[PartnerServer]
) -> None:
    trust = CA.cert_pem.decode()
    server = serve(servers)
    pinned = acme(ca_bundle_pem=trust, pinned_sha256=[public_key_sha256(SERVER[1])])
    assert await post(clients, pinned, server.url("/mdn")) == Posted(None)
    impostors = CA.issue()  # trusted by the CA, but not the pinned one
    impostor = PartnerServer(server_context(impostors))
    servers.append(impostor)
    refused = await post(clients, pinned, impostor.url("/mdn"))
    assert refused == Posted(
        f"TLS: the partner's certificate (SHA-256 {certificate_sha256(impostors[1])}) matches "
        f"none of the pinned ones ({impostor.url('/mdn')}); not retried: the partner's TLS "
        "settings list the certificates it may present (or its keys)",
        retryable=False,
    )
    await until(lambda: impostor.connections == 1, what="the impostor's handshake")
    assert impostor.received == 0


async def test_our_client_certificate_of_the_partnership_is_presented_when_asked_for(
    clients: PartnerClients, servers: list[PartnerServer]
) -> None:
    server = serve(servers, client_cas=OURS[1])  # requires our certificate, this one only
    trust = CA.cert_pem.decode()
    with_ours = acme(ca_bundle_pem=trust, client_certificate=True)
    assert await post(clients, with_ours, server.url("/mdn")) == Posted(None)
    assert len(server.requests) == 1
    without = await post(clients, acme(ca_bundle_pem=trust), server.url("/mdn"))
    assert without == Posted(
        f"TLS: the partner requires a TLS client certificate ({server.url('/mdn')} asked for "
        "one and we sent none); not retried: set the partner's TLS settings to present ours",
        retryable=False,
    )
    assert len(server.requests) == 1


async def test_an_mdn_for_a_partner_no_longer_configured_goes_with_the_default_client(
    clients: PartnerClients, servers: list[PartnerServer]
) -> None:
    plain = PartnerServer(None)
    servers.append(plain)
    resolver = PartyResolver(paired_replica(station_state(), acme()), Keys())  # type: ignore[arg-type]
    sender = MdnSender(clients, resolver, LOOPBACK)
    posted = await sender.post(plain.url("/mdn"), HEADERS, MDN, station="MYCO", partner="GONE")
    assert posted == Posted(None)
    gone = await sender.post("http://127.0.0.1:9/mdn", HEADERS, MDN, station="MYCO", partner="GONE")
    refused = "nothing is listening at 127.0.0.1:9: connection refused"
    assert gone == Posted(f"could not reach http://127.0.0.1:9/mdn: {refused}", retryable=True)
