"""PartnerHttp with per-partner TLS (PartnerClients) against real TLS servers on loopback:
trust, pins (checked before any byte of the request), our client certificate, the minimum
version, no verification for a test partner, proxies, redirects, connection reuse, IPv6, and
the connection test reporting the same in the same words."""

from __future__ import annotations

import logging
import socket
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from as2bus.contracts import KeyMaterialEntry, PartnerState
from as2bus.contracts.config import PartnerTls
from as2bus.outbound.adapters.partner_clients import PartnerClients
from as2bus.outbound.adapters.partner_http import PartnerHttp
from as2bus.outbound.bootstrap import http_clients
from as2bus.outbound.connection_test import ConnectionTest
from as2bus.outbound.posting import ClientIdentity, PostResult
from as2bus.outbound.settings import OutboundSettings
from as2bus.shared.keyring import KeyRing
from as2bus.testing.config_states import paired_replica, partner_state, station_state
from as2bus.testing.tls import (
    ConnectProxy,
    Pair,
    PartnerServer,
    PrivateCa,
    certificate_sha256,
    public_key_sha256,
    server_context,
)
from as2bus.testing.waiting import until

BODY = b"the AS2 message"
HEADERS = {"Content-Type": "application/pkcs7-mime", "Message-ID": "<m1@myco>"}


class NoCredentials:
    async def get(self, partner_id: uuid.UUID) -> Any:
        raise AssertionError("no partner here has HTTP authentication")

    def remember_token(self, *_: Any) -> None:
        raise AssertionError("no partner here has HTTP authentication")


@pytest.fixture(scope="module")
def ca() -> PrivateCa:
    return PrivateCa()


@pytest.fixture(scope="module")
def good(ca: PrivateCa) -> Pair:
    return ca.issue()


@pytest.fixture
def servers() -> Iterator[list[PartnerServer | ConnectProxy]]:
    started: list[PartnerServer | ConnectProxy] = []
    yield started
    for server in started:
        server.close()


@pytest.fixture
async def clients() -> AsyncIterator[PartnerClients]:
    kept = PartnerClients(http_clients(OutboundSettings()), ca_bundle=None, timeout=5)
    yield kept
    await kept.aclose()


def serve(
    servers: list[PartnerServer | ConnectProxy], context: ssl.SSLContext | None, **options: Any
) -> PartnerServer:
    server = PartnerServer(context, **options)
    servers.append(server)
    return server


def partner(url: str, **tls: Any) -> PartnerState:
    return partner_state("acme", as2_url=url, tls=PartnerTls(**tls))


async def post(
    clients: PartnerClients, target: PartnerState, identity: ClientIdentity | None = None
) -> PostResult:
    return await PartnerHttp(clients, NoCredentials()).post(
        target, HEADERS, BODY, identity=identity
    )


def delivered(result: PostResult) -> None:
    assert result.error is None, result.error
    assert result.response is not None
    assert result.response.status_code == 200


async def test_a_partner_ca_is_trusted_for_that_partner_only(
    clients: PartnerClients, servers: list[Any], ca: PrivateCa, good: Pair
) -> None:
    server = serve(servers, server_context(good))
    delivered(await post(clients, partner(server.url(), ca_bundle_pem=ca.cert_pem.decode())))
    refused = await post(clients, partner(server.url()))  # default trust: not this CA
    assert not refused.retryable
    assert refused.error == (
        f"TLS: the certificate of {server.url()} is not trusted (unable to get local issuer "
        "certificate: issued by a CA we do not trust); not retried: the partner must fix its "
        "certificate (or the URL its host name), or its CA be added with "
        "AS2BUS_OUTBOUND_CA_BUNDLE"
    )
    other = PrivateCa("another CA").cert_pem.decode()
    wrong = await post(clients, partner(server.url(), ca_bundle_pem=other))
    assert not wrong.retryable
    assert wrong.error is not None
    assert wrong.error.endswith("or the CA certificates in the partner's TLS settings be corrected")
    assert [r.body for r in server.requests] == [BODY]  # only the trusted send got through


async def test_pins_by_certificate_or_key_pass_and_a_mismatch_sends_no_byte(
    clients: PartnerClients, servers: list[Any], ca: PrivateCa, good: Pair
) -> None:
    server = serve(servers, server_context(good))
    trust = ca.cert_pem.decode()
    by_cert, by_key = certificate_sha256(good[1]), public_key_sha256(good[1])
    delivered(
        await post(clients, partner(server.url(), ca_bundle_pem=trust, pinned_sha256=[by_cert]))
    )
    delivered(
        await post(clients, partner(server.url(), ca_bundle_pem=trust, pinned_sha256=[by_key]))
    )
    impostors = ca.issue()  # trusted, but not the pinned one
    impostor = serve(servers, server_context(impostors))
    refused = await post(
        clients, partner(impostor.url(), ca_bundle_pem=trust, pinned_sha256=[by_cert, by_key])
    )
    assert not refused.retryable
    assert refused.error == (
        f"TLS: the partner's certificate (SHA-256 {certificate_sha256(impostors[1])}) "
        f"matches none of the pinned ones ({impostor.url()}); not retried: the partner's TLS "
        "settings list the certificates it may present (or its keys)"
    )
    # The handshake was made, and not one byte of the request followed it.
    await until(lambda: impostor.connections == 1, what="the impostor's handshake")
    assert impostor.received == 0


def keystore_certificate() -> Pair:
    """Ours, self-signed as cert-svc makes them: the partner trusts it as it is."""
    return PrivateCa("unused").issue_client("MYCO", self_signed=True)


def client_identity(pair: Pair, version: str = "v1") -> ClientIdentity:
    return ClientIdentity(version, pair[1], pair[0])


async def test_mutual_tls_presents_our_certificate_and_says_when_it_is_missing_or_refused(
    clients: PartnerClients, servers: list[Any], ca: PrivateCa, good: Pair
) -> None:
    ours = keystore_certificate()
    server = serve(servers, server_context(good, client_cas=ours[1]))
    trust = ca.cert_pem.decode()
    with_ours = partner(server.url(), ca_bundle_pem=trust, client_certificate=True)
    delivered(await post(clients, with_ours, client_identity(ours)))
    without = await post(clients, partner(server.url(), ca_bundle_pem=trust))
    assert not without.retryable
    assert without.error == (
        f"TLS: the partner requires a TLS client certificate ({server.url()} asked for one and "
        "we sent none); not retried: set the partner's TLS settings to present ours"
    )
    stranger = ca.issue_client("MYCO")  # a certificate the partner does not trust
    refused = await post(
        clients, with_ours.model_copy(update={"revision": 2}), client_identity(stranger, "v2")
    )
    assert not refused.retryable
    assert refused.error == (
        f"TLS: the partner requires a TLS client certificate and refused ours ({server.url()}: "
        "it does not trust its issuer); not retried: send the partner our certificate of this "
        "partnership's keystore"
    )
    assert len(server.requests) == 1


async def test_a_minimum_of_tls_1_3_refuses_a_server_stuck_at_1_2(
    clients: PartnerClients, servers: list[Any], ca: PrivateCa, good: Pair
) -> None:
    server = serve(servers, server_context(good, max_version=ssl.TLSVersion.TLSv1_2))
    trust = ca.cert_pem.decode()
    delivered(await post(clients, partner(server.url(), ca_bundle_pem=trust)))
    refused = await post(clients, partner(server.url(), ca_bundle_pem=trust, min_version="1.3"))
    assert not refused.retryable
    assert refused.error is not None
    assert refused.error.startswith(
        f"TLS: {server.url()} speaks no TLS version we accept (TLS 1.3 or newer for this partner;"
    )


async def test_verification_off_delivers_to_a_self_signed_server_and_warns_each_time(
    clients: PartnerClients,
    servers: list[Any],
    ca: PrivateCa,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = serve(servers, server_context(ca.issue(self_signed=True)))
    target = partner(server.url(), verify=False)
    with caplog.at_level(logging.WARNING):
        delivered(await post(clients, target))
        delivered(await post(clients, target))
    warnings = [r.getMessage() for r in caplog.records if "verification is off" in r.getMessage()]
    assert (
        warnings
        == [
            f"TLS verification is off for partner acme ({server.url()}): its server is not "
            "authenticated; for a test partner only"
        ]
        * 2
    )


async def test_a_proxy_of_the_partner_or_of_the_environment_carries_the_tunnel(
    clients: PartnerClients,
    servers: list[Any],
    ca: PrivateCa,
    good: Pair,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = serve(servers, server_context(good))
    proxy = ConnectProxy()
    servers.append(proxy)
    trust = ca.cert_pem.decode()
    delivered(await post(clients, partner(server.url(), ca_bundle_pem=trust, proxy_url=proxy.url)))
    assert proxy.connects == [f"127.0.0.1:{server.port}"]
    # Pinning through the proxy: the tunnel and the handshake are made, the request not sent.
    received = server.received
    pinned = partner(
        server.url(), ca_bundle_pem=trust, proxy_url=proxy.url, pinned_sha256=["0" * 64]
    )
    mismatch = await post(clients, pinned.model_copy(update={"revision": 2}))
    assert mismatch.error is not None
    assert "matches none of the pinned ones" in mismatch.error
    await until(lambda: server.connections == 2, what="the handshake through the proxy")
    assert (server.received, len(proxy.connects)) == (received, 2)
    # The environment, for a partner without a proxy of its own (and NO_PROXY honoured).
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    delivered(await post(clients, partner(server.url(), ca_bundle_pem=trust)))
    assert len(proxy.connects) == 3
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    delivered(await post(clients, partner(server.url(), ca_bundle_pem=trust)))
    assert len(proxy.connects) == 3


async def test_a_proxy_that_refuses_or_is_not_there_is_named(
    clients: PartnerClients, servers: list[Any], ca: PrivateCa, good: Pair
) -> None:
    server = serve(servers, server_context(good))
    proxy = ConnectProxy(refuse=True)
    servers.append(proxy)
    refused = await post(clients, partner(server.url(), proxy_url=proxy.url))
    assert refused.retryable
    assert refused.error == (
        f"the proxy {proxy.url} did not open a tunnel to {server.url()}: 403 Forbidden"
    )
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{unused.getsockname()[1]}"
    missing = await post(clients, partner(server.url(), proxy_url=nowhere))
    assert missing.retryable
    assert missing.error == (
        f"could not reach the proxy {nowhere} (for {server.url()}): nothing is listening at "
        f"{nowhere.removeprefix('http://')}: connection refused"
    )


async def test_307_and_308_are_followed_only_when_allowed_and_never_to_plain_http(
    clients: PartnerClients, servers: list[Any], ca: PrivateCa, good: Pair
) -> None:
    plain = serve(servers, None)
    routes = {
        "/old": (307, {"Location": "/new"}),
        "/moved": (302, {"Location": "/new"}),
        "/downgrade": (308, {"Location": plain.url("/new")}),
        "/loop": (308, {"Location": "/loop"}),
    }
    server = serve(servers, server_context(good), routes=routes)
    trust = ca.cert_pem.decode()
    followed = await post(
        clients, partner(server.url("/old"), ca_bundle_pem=trust, follow_redirects=True)
    )
    delivered(followed)
    assert followed.redirected_to == server.url("/new")
    assert [(r.target, r.body) for r in server.requests] == [("/old", BODY), ("/new", BODY)]
    not_allowed = await post(clients, partner(server.url("/old"), ca_bundle_pem=trust))
    assert not_allowed.error == (
        f"HTTP 307 from {server.url('/old')}: a redirect to {server.url('/new')}, not followed "
        "(a signed message is posted only to the partner's URL as configured); correct the "
        "partner's URL if it has moved"
    )
    found = await post(
        clients,
        partner(server.url("/moved"), ca_bundle_pem=trust, follow_redirects=True, verify=True),
    )
    assert found.error is not None
    assert "only 307 and 308 are followed: they keep the POST and its body" in found.error
    down = await post(
        clients, partner(server.url("/downgrade"), ca_bundle_pem=trust, follow_redirects=True)
    )
    assert down.error is not None
    assert "(from https to plain http the message would travel unprotected)" in down.error
    loop = await post(
        clients, partner(server.url("/loop"), ca_bundle_pem=trust, follow_redirects=True)
    )
    assert loop.error is not None
    assert "(already 3 redirects)" in loop.error
    assert plain.requests == []
    assert not any(r.retryable for r in (not_allowed, found, down, loop))


async def test_sends_to_one_partner_reuse_one_connection_with_a_content_length(
    clients: PartnerClients, servers: list[Any], ca: PrivateCa, good: Pair
) -> None:
    server = serve(servers, server_context(good))
    target = partner(server.url(), ca_bundle_pem=ca.cert_pem.decode())
    delivered(await post(clients, target))
    delivered(await post(clients, target))
    assert server.connections == 1
    assert [r.headers.get("content-length") for r in server.requests] == [str(len(BODY))] * 2
    assert all("transfer-encoding" not in r.headers for r in server.requests)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


async def test_an_ipv6_partner_url_works(
    clients: PartnerClients, servers: list[Any], ca: PrivateCa
) -> None:
    assert ipv6_loopback(), "this machine cannot bind ::1: the IPv6 check cannot run here"
    server = serve(servers, server_context(ca.issue(host="::1")), host="::1")
    assert server.url().startswith("https://[::1]:")
    delivered(await post(clients, partner(server.url(), ca_bundle_pem=ca.cert_pem.decode())))


class OurKey:
    """KeyMaterial with one key of ours (alias "myco"), its private key in memory."""

    def __init__(self, pair: Pair) -> None:
        now = datetime.now(UTC)
        self.pair = pair
        self.entry = KeyMaterialEntry(
            id=uuid.uuid4(), alias="myco", kind="own", subject="CN=MYCO", issuer="CN=ours",
            serial="1", fingerprint_sha256="x", not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=30), activation_at=now - timedelta(days=1),
            cert_pem=pair[1].decode(),
        )  # fmt: skip

    async def keyring(self, *, fresh: bool = False) -> KeyRing:
        return KeyRing([self.entry])

    def private_key_pem(self, entry: KeyMaterialEntry) -> bytes:
        return self.pair[0]


async def test_the_connection_test_speaks_tls_as_a_send_does(
    clients: PartnerClients, servers: list[Any], ca: PrivateCa, good: Pair
) -> None:
    ours = keystore_certificate()
    server = serve(servers, server_context(good, client_cas=ours[1]))
    trust = ca.cert_pem.decode()
    target = partner(
        server.url(),
        ca_bundle_pem=trust,
        client_certificate=True,
        pinned_sha256=[public_key_sha256(good[1])],
    )
    config = paired_replica(station_state("MYCO"), target)
    test = ConnectionTest(PartnerHttp(clients, NoCredentials()), clients, OurKey(ours), config)
    steps = {step.name: step for step in await test.run(target)}
    assert [steps[n].ok for n in ("DNS", "TCP", "TLS", "HTTP")] == [True] * 4, steps
    assert steps["TLS"].detail.startswith("TLSv1.3, certificate of 127.0.0.1 from as2bus test CA")
    assert steps["TLS"].detail.endswith("(verified, pinned, our client certificate presented)")
    assert steps["HTTP"].detail.startswith("HTTP 200")
    pinned_wrong = target.model_copy(
        update={"tls": target.tls.model_copy(update={"pinned_sha256": ["0" * 64]})}
    )
    steps = {step.name: step for step in await test.run(pinned_wrong)}
    assert steps["TLS"].ok is False
    assert "matches none of the pinned ones" in steps["TLS"].detail
    assert steps["HTTP"].ok is None
    no_cert = target.model_copy(update={"tls": PartnerTls(ca_bundle_pem=trust)})
    steps = {step.name: step for step in await test.run(no_cert)}
    assert steps["TLS"].ok is True  # the handshake itself passes (TLS 1.3) ...
    assert steps["HTTP"].ok is False  # ... and the server refuses on the first read
    assert "the partner requires a TLS client certificate" in steps["HTTP"].detail
    assert len(server.requests) == 1


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's own proxy settings must not take the tests' loopback traffic."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def test_the_connection_test_says_in_words_why_a_partner_cannot_be_reached(
    clients: PartnerClients,
) -> None:
    """As the message pages word it, and what to do: not Python's "[Errno 111] Connect call
    failed"; the steps after the failed one are not tried."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens once it is closed
    down = partner(f"http://127.0.0.1:{port}/as2")
    config = paired_replica(station_state("MYCO"), down)
    test = ConnectionTest(
        PartnerHttp(clients, NoCredentials()), clients, OurKey(keystore_certificate()), config
    )
    steps = {step.name: step for step in await test.run(down)}
    assert (steps["DNS"].ok, steps["TCP"].ok, steps["HTTP"].ok) == (True, False, None)
    assert steps["TCP"].detail == (
        f"nothing is listening at 127.0.0.1:{port}: connection refused; the partner's server "
        "is down, or the URL's host or port is wrong: check the Partner URL, then ask the "
        "partner whether its AS2 server is up"
    )
    nowhere = partner("http://no-such-host.invalid/as2")
    steps = {step.name: step for step in await test.run(nowhere)}
    assert steps["DNS"].ok is False
    assert steps["DNS"].detail.startswith("the host name 'no-such-host.invalid' ")
    assert steps["DNS"].detail.endswith("check the host name in the partner's URL, or ask the "
                                        "partner for the right one")  # fmt: skip
