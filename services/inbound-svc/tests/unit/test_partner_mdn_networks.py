"""A partner's own async MDN networks (its ``async_mdn_networks``): they let the MDNs of that
partner's messages reach addresses that are not public, and no other partner's; the networks
allowed for every partner (AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS) still are. Against a
real HTTP server on loopback, which no network allows unless a test says so."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import pytest

from as2bus.contracts import PartnerState
from as2bus.inbound.adapters.mdn_network import AddressRefusedError, MdnNetwork
from as2bus.inbound.adapters.mdn_sender import MdnSender, Posted
from as2bus.inbound.bootstrap import mdn_clients
from as2bus.inbound.mdn_targets import MdnTargets, networks, partner_networks
from as2bus.shared.partner_tls.clients import PartnerClients
from as2bus.testing.config_states import partner_state
from as2bus.testing.local_http import local_http

SenderFor = Callable[[MdnNetwork], MdnSender]
ONPREM = partner_state("ONPREM", async_mdn_networks=["127.0.0.0/8"])
OTHER = partner_state("OTHER")


class Partners:
    """The configured partners, by AS2 ID; no client certificates."""

    def __init__(self, *known: PartnerState) -> None:
        self._known = {p.as2_id: p for p in known}

    def partner_by_as2_id(self, as2_id: str) -> PartnerState | None:
        return self._known.get(as2_id)

    async def tls_identity(self, station: str | None, partner: object) -> None:
        return None


@pytest.fixture
async def sender_for() -> AsyncIterator[SenderFor]:
    made: list[PartnerClients] = []

    def sender(network: MdnNetwork) -> MdnSender:
        clients = PartnerClients(
            mdn_clients(network, 5), ca_bundle=None, timeout=5, network=network
        )
        made.append(clients)
        return MdnSender(clients, Partners(ONPREM, OTHER), network)

    yield sender
    for clients in made:
        await clients.aclose()


def test_a_partners_networks_allow_its_addresses_besides_the_global_ones() -> None:
    targets = MdnTargets(networks(["10.20.0.0/16"]))
    own = targets.also(partner_networks(["192.168.7.0/24", "fd12::/16"]))
    assert own.allows("192.168.7.9")
    assert own.allows("fd12::1")
    assert own.allows("10.20.1.1")  # the global ones stay
    assert not own.allows("192.168.8.1")
    assert not own.allows("169.254.169.254")
    assert not targets.allows("192.168.7.9")  # the rule itself is unchanged
    # Checked by config-svc; a value that is none, or every address, allows nothing.
    assert partner_networks(["nonsense", "0.0.0.0/0", "::/0", "10.1.0.0/16"]) == networks(
        ["10.1.0.0/16"]
    )


async def test_a_partners_network_lets_its_own_async_mdn_through(
    sender_for: SenderFor,
) -> None:
    async with local_http(path="/mdn") as endpoint:
        sender = sender_for(MdnNetwork(MdnTargets()))
        posted = await sender.post(endpoint.url, {}, b"MDN", station="MYCO", partner="ONPREM")
        assert posted == Posted(None)
        assert [c.requests for c in endpoint.connections] == [1]


async def test_another_partners_message_gets_nothing_from_it_not_even_a_kept_connection(
    sender_for: SenderFor,
) -> None:
    async with local_http(path="/mdn") as endpoint:
        network = MdnNetwork(MdnTargets())
        sender = sender_for(network)
        first = await sender.post(endpoint.url, {}, b"MDN", station="MYCO", partner="ONPREM")
        assert first == Posted(None)  # its connection is kept for the next MDN
        for partner in ("OTHER", "UNKNOWN"):
            posted = await sender.post(endpoint.url, {}, b"MDN", station="MYCO", partner=partner)
            assert posted.retryable is False
            assert posted.error is not None
            assert "127.0.0.1, a loopback address" in posted.error
            assert "or the partner's async_mdn_networks, must allow" in posted.error
        assert [c.requests for c in endpoint.connections] == [1]
        # Outside a partner's POST, its networks allow no connection either.
        with pytest.raises(AddressRefusedError):
            await network.connect_tcp("127.0.0.1", urlsplit(endpoint.url).port or 80)


async def test_the_global_networks_still_allow_every_partners_mdn(
    sender_for: SenderFor,
) -> None:
    async with local_http(path="/mdn") as endpoint:
        sender = sender_for(MdnNetwork(MdnTargets(networks(["127.0.0.0/8"]))))
        for partner in ("OTHER", "ONPREM", "UNKNOWN"):
            posted = await sender.post(endpoint.url, {}, b"MDN", station="MYCO", partner=partner)
            assert posted == Posted(None), partner


async def test_a_connection_its_networks_allowed_is_not_reused_for_another_partner(
    sender_for: SenderFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that resolves to a public address for the check before the POST and to the
    partner's network afterwards (DNS rebinding) must not find that partner's connection
    kept for it: another partner's MDN gets a connection of its own, judged without them."""
    answers = [["127.0.0.1"], ["127.0.0.1"], ["93.184.216.34"], ["127.0.0.1"]]

    async def resolve(host: str, port: int) -> list[str]:
        assert host == "rebinding.example"
        return answers.pop(0) if len(answers) > 1 else answers[0]

    monkeypatch.setattr("as2bus.inbound.adapters.mdn_network.addresses_of", resolve)
    async with local_http(path="/mdn") as endpoint:
        url = endpoint.url.replace("127.0.0.1", "rebinding.example")
        sender = sender_for(MdnNetwork(MdnTargets()))
        first = await sender.post(url, {}, b"MDN", station="MYCO", partner="ONPREM")
        assert first == Posted(None)
        posted = await sender.post(url, {}, b"MDN", station="MYCO", partner="OTHER")
        assert posted.retryable is False
        assert posted.error is not None
        assert "(127.0.0.1), a loopback address" in posted.error
        assert [c.requests for c in endpoint.connections] == [1]
