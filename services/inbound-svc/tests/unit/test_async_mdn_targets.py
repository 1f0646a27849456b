"""Where an async MDN may go: http and https only, to public addresses or to networks the
operator allows (mdn_targets.py), judged before each POST and again on the connection made
(adapters/mdn_network.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from as2bus.inbound.adapters.mdn_network import AddressRefusedError, MdnNetwork
from as2bus.inbound.adapters.mdn_sender import MdnSender, Posted
from as2bus.inbound.bootstrap import mdn_clients
from as2bus.inbound.mdn_targets import MdnTargets, networks
from as2bus.inbound.settings import InboundSettings
from as2bus.shared.partner_tls.clients import PartnerClients
from as2bus.testing.local_http import local_http


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4 written as IPv6
        ("169.254.169.254", "link-local"),  # the cloud's metadata service
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),  # IPv6 unique local
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address judged, not bound
        ("::", "unspecified"),
        ("240.0.0.1", "private"),  # reserved (Python counts 240/4 among the private)
        ("100.64.0.1", "reserved"),  # shared address space (carrier-grade NAT)
    ],
)
def test_an_address_that_is_not_public_is_refused(address: str, kind: str) -> None:
    refusal = MdnTargets().refusal("partner.example", [address])
    assert refusal == (
        f"an asynchronous MDN is not posted to partner.example ({address}), a {kind} address; "
        "AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS, or the partner's async_mdn_networks, "
        "must allow its network for that"
    )


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_a_public_address_is_allowed(address: str) -> None:
    assert MdnTargets().refusal("partner.example", [address]) is None


def test_one_address_not_allowed_among_several_refuses_the_host() -> None:
    """The connection could go to any of them (or a rebinding DNS answer could choose)."""
    refusal = MdnTargets().refusal("partner.example", ["93.184.216.34", "10.0.0.5"])
    assert refusal is not None
    assert "(10.0.0.5), a private address" in refusal


def test_the_allowed_networks_let_their_addresses_through_and_only_them() -> None:
    targets = MdnTargets(networks(["10.20.0.0/16", "fd12::/16", "127.0.0.1"]))
    assert targets.allows("10.20.3.4")
    assert targets.allows("fd12::7")
    assert targets.allows("127.0.0.1")
    assert not targets.allows("10.21.0.1")
    assert not targets.allows("127.0.0.2")
    assert not targets.allows("169.254.169.254")
    assert targets.allows("93.184.216.34")  # public ones stay allowed
    assert targets.allows("::ffff:127.0.0.1")  # IPv4 written as IPv6 is the IPv4 address


def test_the_setting_is_a_json_list_of_networks_and_refuses_anything_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS"
    assert InboundSettings().async_mdn_allowed_networks == []  # the default: none
    monkeypatch.setenv(name, '["10.0.0.0/8", "fd00::/8"]')
    assert InboundSettings().async_mdn_allowed_networks == ["10.0.0.0/8", "fd00::/8"]
    monkeypatch.setenv(name, '["10.0.0.0/8", "intranet"]')
    with pytest.raises(ValidationError, match="'intranet' is not a network"):
        InboundSettings()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "not posted to a file: URL"),
        ("gopher://127.0.0.1:70/x", "not posted to a gopher: URL"),
        ("http://localhost:9/mdn", "localhost (127.0.0.1), a loopback address"),
        ("http://127.0.0.1:9399/ssrf", "127.0.0.1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address"),
        ("https://[::1]:8443/mdn", "::1, a loopback address"),
        ("http://10.0.0.1/mdn", "10.0.0.1, a private address"),
    ],
)
async def test_a_url_is_judged_by_its_scheme_and_where_its_host_resolves(
    url: str, why: str
) -> None:
    refusal = await MdnNetwork(MdnTargets()).refusal(url)
    assert refusal is not None
    assert why in refusal


async def test_the_connection_is_refused_too_whatever_the_check_before_it_said() -> None:
    """A name may resolve to a public address for the check and to 127.0.0.1 a moment later
    (DNS rebinding): the connection is made by the same judge, to the address it judged."""
    with pytest.raises(AddressRefusedError, match="a loopback address"):
        await MdnNetwork(MdnTargets()).connect_tcp("127.0.0.1", 9)


async def test_nothing_is_posted_to_a_refused_address_and_it_is_not_retried() -> None:
    async with local_http(path="/mdn") as endpoint:
        network = MdnNetwork(MdnTargets())
        clients = PartnerClients(lambda: pytest.fail("no client"), ca_bundle=None, timeout=5)
        sender = MdnSender(clients, Partners(), network)

        posted = await sender.post(endpoint.url, {}, b"MDN", station="MYCO", partner="ACME")

        assert posted.retryable is False
        assert posted.error is not None
        assert "a loopback address" in posted.error
        assert endpoint.connections == []


async def test_an_allowed_network_is_posted_to_through_the_judged_connection() -> None:
    async with local_http(path="/mdn") as endpoint:
        network = MdnNetwork(MdnTargets(networks(["127.0.0.0/8"])))
        clients = PartnerClients(
            mdn_clients(network, 5), ca_bundle=None, timeout=5, network=network
        )
        sender = MdnSender(clients, Partners(), network)
        try:
            posted = await sender.post(endpoint.url, {}, b"MDN", station="MYCO", partner="ACME")
        finally:
            await clients.aclose()
        assert posted == Posted(None)
        assert len(endpoint.connections) == 1


class Partners:
    """No partner configured: the default client."""

    def partner_by_as2_id(self, as2_id: str) -> None:
        return None

    async def tls_identity(self, station: str | None, partner: object) -> None:
        return None
