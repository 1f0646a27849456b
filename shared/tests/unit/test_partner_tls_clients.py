"""The SSLContext built from a partner's TLS settings, and the clients kept per partner TLS
profile (no network: what is built, reused, replaced and closed)."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from as2bus.contracts import PartnerState
from as2bus.contracts.config import PartnerTls
from as2bus.shared.partner_tls.clients import PartnerClients, proxy_for
from as2bus.shared.partner_tls.context import TlsSetupError, partner_context
from as2bus.shared.partner_tls.identity import ClientIdentity
from as2bus.shared.partner_tls.shelf import ClientFactory
from as2bus.testing.config_states import partner_state
from as2bus.testing.tls import PrivateCa

CA = PrivateCa()
OURS = CA.issue_client("MYCO")


def identity(version: str = "v1") -> ClientIdentity:
    return ClientIdentity(version, OURS[1], OURS[0])


def closed(client: httpx.AsyncClient) -> bool:
    return client.is_closed  # a call: mypy keeps no narrowing of the property across awaits


def partner(**tls: Any) -> PartnerState:
    return partner_state("acme", tls=PartnerTls(**tls))


def test_a_partner_ca_replaces_the_bundle_and_the_minimum_version_is_set() -> None:
    context = partner_context(
        PartnerTls(ca_bundle_pem=CA.cert_pem.decode(), min_version="1.3"),
        ca_bundle=None,
        identity=None,
    )
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "as2bus test CA"),),)
    ]
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


def test_verification_off_checks_neither_chain_nor_name() -> None:
    context = partner_context(PartnerTls(verify=False), ca_bundle=None, identity=None)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)


def test_our_client_certificate_is_loaded_from_memory_and_a_broken_one_is_one_sentence(
    tmp_path: Any,
) -> None:
    tls = PartnerTls(client_certificate=True)
    partner_context(tls, ca_bundle=None, identity=identity())  # loads, or raises
    other_key = CA.issue_client("other")[0]
    broken = ClientIdentity("v9", OURS[1], other_key)
    with pytest.raises(TlsSetupError) as refused:
        partner_context(tls, ca_bundle=None, identity=broken)
    assert str(refused.value).startswith("our TLS client certificate (version v9) cannot be used:")
    assert "PRIVATE KEY" not in str(refused.value)
    assert "key_pem" not in repr(broken)  # never in a log line
    with pytest.raises(TlsSetupError, match="no key of ours to present"):
        partner_context(tls, ca_bundle=None, identity=None)


def test_unreadable_partner_ca_certificates_are_one_sentence() -> None:
    with pytest.raises(TlsSetupError, match=r"the partner's CA certificates .* cannot be read"):
        partner_context(PartnerTls(ca_bundle_pem="not PEM"), ca_bundle=None, identity=None)


def made() -> tuple[list[httpx.AsyncClient], ClientFactory]:
    """A factory of default-profile clients, and the list of those it made."""
    clients: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        clients.append(httpx.AsyncClient())
        return clients[-1]

    return clients, make


async def test_a_client_is_kept_per_revision_and_key_version_and_the_old_one_closed() -> None:
    defaults, make = made()
    clients = PartnerClients(make, ca_bundle=None, timeout=5)
    acme = partner(client_certificate=True)
    async with clients.lease(acme, identity()) as first:
        pass
    async with clients.lease(acme, identity()) as again:
        assert again is first
    async with clients.lease(acme, identity("v2")) as rotated:  # a new key of ours
        assert rotated is not first
    assert closed(first)
    changed = acme.model_copy(update={"revision": 2})
    async with clients.lease(changed, identity("v2")) as revised:
        assert revised is not rotated
        assert not closed(revised)
    assert closed(rotated)
    async with clients.lease(partner_state("acme"), None) as default:
        assert default in defaults
    await clients.aclose()
    assert closed(revised)
    assert closed(default)


async def test_a_client_replaced_during_a_send_closes_when_that_send_is_done() -> None:
    clients = PartnerClients(made()[1], ca_bundle=None, timeout=5)
    acme = partner(min_version="1.3")
    async with clients.lease(acme, None) as sending:
        async with clients.lease(acme.model_copy(update={"revision": 2}), None) as newer:
            assert newer is not sending
        assert not closed(sending)  # still in use
    assert closed(sending)
    await clients.aclose()


async def test_sends_in_flight_at_once_each_have_a_client_and_one_after_reuses_one() -> None:
    clients = PartnerClients(made()[1], ca_bundle=None, timeout=5)
    pinned = partner(pinned_sha256=["a" * 64])
    async with clients.lease(pinned, None) as one, clients.lease(pinned, None) as two:
        assert one is not two
    async with clients.lease(pinned, None) as later:
        assert later is one  # put back last (after two): its connection is the warmest
    await clients.aclose()
    assert closed(one)
    assert closed(two)


async def test_default_settings_share_the_default_profile_s_clients_by_origin() -> None:
    defaults, make = made()
    clients = PartnerClients(make, ca_bundle=None, timeout=5)
    pinned = partner(pinned_sha256=["a" * 64])
    async with clients.lease(pinned, None) as own:
        assert own not in defaults
    acme = partner_state("acme", as2_url="https://as2.acme.example/as2")
    async with clients.lease(acme, None) as shared:
        assert shared in defaults
    other = partner_state("other", as2_url="https://as2.acme.example/other")  # same origin
    async with clients.lease(other, None) as same:
        assert same is shared
    async with clients.lease(pinned.model_copy(update={"tls": PartnerTls()}), None) as back:
        assert back in defaults
        assert back is not shared
    assert closed(own)  # the partner went back to the defaults: its own client is gone
    async with clients.lease_default("https://as2.acme.example/mdn") as unknown:
        assert unknown is shared  # a partner no longer configured: the default profile
    await clients.aclose()
    assert all(closed(client) for client in defaults)


def test_the_proxy_is_the_partner_s_else_the_environment_s_unless_no_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    target = partner_state("acme", as2_url="https://as2.acme.example/as2")
    assert proxy_for(target) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert proxy_for(target) == "http://proxy.example:3128"
    own = target.model_copy(update={"tls": PartnerTls(proxy_url="http://mine.example:8080")})
    assert proxy_for(own) == "http://mine.example:8080"
    monkeypatch.setenv("NO_PROXY", "acme.example")
    assert proxy_for(target) is None
    plain = target.model_copy(update={"as2_url": "http://as2.other.example/as2"})
    assert proxy_for(plain) is None  # HTTP_PROXY unset: http goes straight
    # A request elsewhere (an async MDN's URL) is judged by its own host.
    assert proxy_for(target, "https://mdn.other.example/mdn") == "http://proxy.example:3128"


async def test_a_client_is_kept_for_the_proxy_of_the_url_it_posts_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "acme.example")
    clients = PartnerClients(made()[1], ca_bundle=None, timeout=5)
    acme = partner(min_version="1.3").model_copy(update={"as2_url": "https://as2.acme.example/"})
    async with clients.lease(acme, None) as straight:
        pass
    async with clients.lease(acme, None, "https://as2.acme.example/mdn") as same:
        assert same is straight
    async with clients.lease(acme, None, "https://mdn.elsewhere.example/mdn") as proxied:
        assert proxied is not straight
    await clients.aclose()
