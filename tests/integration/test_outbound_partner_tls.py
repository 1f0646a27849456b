"""Each partner's TLS settings (PartnerTls), against the real outbound-svc, cert-svc and
tracklog-svc on NATS, the partners being real HTTPS servers on loopback: a private CA
trusted for its partner, a wrong CA refused, pins by certificate and by public key, a pin
mismatch refused before any byte of the message, mutual TLS with our keystore's certificate
(and refused without it), a minimum of TLS 1.3 against a server stuck at 1.2, verification
off for a test partner (delivered, warned), a CONNECT proxy of the partner's and one of the
environment, a 307 followed when allowed and refused when not.

The partners' states are written to the configuration bucket as config-svc keeps it (with
their TLS settings, which config-svc's API does not take yet). Every message is sent at once;
each test reads what became of one partner's message in tracklog-svc.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import nats
import pytest

from as2bus.contracts import PartnershipState
from as2bus.contracts.config import PartnerTls
from as2bus.contracts.send import send_document
from as2bus.contracts.subjects import config_key
from as2bus.shared.bus.replica import config_bucket
from as2bus.shared.crypto import generate_master_key
from as2bus.testing.config_states import AT, partner_state, station_state
from as2bus.testing.infra import NatsServer, run_sync, wipe_jetstream
from as2bus.testing.services import ServiceProcess
from as2bus.testing.tls import (
    ConnectProxy,
    PartnerServer,
    PrivateCa,
    certificate_sha256,
    public_key_sha256,
    server_context,
)

from .conftest import client, start, stop
from .test_misbehaving_partners import detail, settled

EDI = b"ISA*00*          *00*          *ZZ*MYCO~\r\nST*850*0001~\r\nSE*2*0001~\r\n"


@dataclass
class Partners:
    """The partners' servers and proxies, and each partner's URL and TLS settings."""

    environment_proxy: ConnectProxy  # outbound-svc's HTTPS_PROXY
    ca: PrivateCa = field(default_factory=PrivateCa)
    servers: dict[str, PartnerServer] = field(default_factory=dict)
    proxy: ConnectProxy = field(default_factory=ConnectProxy)  # a partner's proxy_url
    settings: dict[str, tuple[str, PartnerTls]] = field(default_factory=dict)

    def serve(self, name: str, context: ssl.SSLContext, **options: Any) -> PartnerServer:
        self.servers[name] = server = PartnerServer(context, **options)
        return server

    def add(self, name: str, url: str, **tls: Any) -> None:
        self.settings[name] = (url, PartnerTls(**tls))

    def close(self) -> None:
        for server in self.servers.values():
            server.close()
        self.proxy.close()


def partners_for(our_certificate: bytes, environment_proxy: ConnectProxy) -> Partners:
    found = Partners(environment_proxy)
    ca, trust = found.ca, found.ca.cert_pem.decode()
    good = ca.issue()
    main = found.serve("main", server_context(good), routes={"/old": (307, {"Location": "/new"})})
    found.add("private_ca", main.url(), ca_bundle_pem=trust)
    found.add("wrong_ca", main.url(), ca_bundle_pem=PrivateCa("another CA").cert_pem.decode())
    by_cert, by_key = certificate_sha256(good[1]), public_key_sha256(good[1])
    found.add("pin_cert", main.url(), ca_bundle_pem=trust, pinned_sha256=[by_cert])
    found.add("pin_key", main.url(), ca_bundle_pem=trust, pinned_sha256=[by_key])
    found.add("proxied", main.url(), ca_bundle_pem=trust, proxy_url=found.proxy.url)
    found.add("redirect_followed", main.url("/old"), ca_bundle_pem=trust, follow_redirects=True)
    found.add("redirect_refused", main.url("/old"), ca_bundle_pem=trust)
    impostor = found.serve("impostor", server_context(ca.issue()))
    found.add("pin_mismatch", impostor.url(), ca_bundle_pem=trust, pinned_sha256=[by_cert, by_key])
    mutual = found.serve("mutual", server_context(good, client_cas=our_certificate))
    found.add("mutual_tls", mutual.url(), ca_bundle_pem=trust, client_certificate=True)
    found.add("mutual_tls_without", mutual.url(), ca_bundle_pem=trust)
    old = found.serve("tls12", server_context(good, max_version=ssl.TLSVersion.TLSv1_2))
    found.add("tls13_only", old.url(), ca_bundle_pem=trust, min_version="1.3")
    self_signed = found.serve("self_signed", server_context(ca.issue(self_signed=True)))
    found.add("unverified", self_signed.url(), verify=False)
    # Named "localhost" (NO_PROXY has 127.0.0.1): the one partner the environment's proxy takes.
    local = found.serve("local", server_context(ca.issue(host="localhost")))
    found.add("environment_proxied", f"https://localhost:{local.port}/as2", ca_bundle_pem=trust)
    return found


async def configure(nats_url: str, found: Partners) -> None:
    """MYCO and every partner, paired, in the configuration bucket (as config-svc keeps it):
    messages without signature, encryption or MDN, so that a 2xx is the delivery."""
    nc = await nats.connect(nats_url)
    try:
        kv = await config_bucket(nc.jetstream())
        station = station_state("MYCO")
        await kv.put(config_key("station", str(station.id)), station.model_dump_json().encode())
        for name, (url, tls) in found.settings.items():
            partner = partner_state(
                name, as2_url=url, mdn_mode="none", signing_alg=None, encryption_alg=None, tls=tls
            )
            link = PartnershipState(
                id=uuid.uuid4(), revision=1, station_id=station.id, partner_id=partner.id,
                station_as2_id="MYCO", partner_as2_id=name, created_at=AT, updated_at=AT,
            )  # fmt: skip
            await kv.put(config_key("partner", str(partner.id)), partner.model_dump_json().encode())
            await kv.put(config_key("partnership", str(link.id)), link.model_dump_json().encode())
    finally:
        await nc.close()


@dataclass
class Run:
    partners: Partners
    rows: dict[str, dict[str, Any]]
    details: dict[str, dict[str, Any]]
    outbound_log: str


async def send_everything(
    nats_url: str,
    cert: ServiceProcess,
    tracklog: ServiceProcess,
    outbound: ServiceProcess,
    environment_proxy: ConnectProxy,
) -> Run:
    async with client(cert) as certs:
        ours = await certs.post("/api/v1/certificates/own", json={"alias": "myco"})
        assert ours.status_code == 201, ours.text
    found = partners_for(ours.json()["cert_pem"].encode(), environment_proxy)
    try:
        await configure(nats_url, found)
        nc = await nats.connect(nats_url)
        try:
            for name in found.settings:
                await send_document(nc, EDI, station="MYCO", partner=name)
        finally:
            await nc.close()
        rows, details = {}, {}
        for name in found.settings:
            (rows[name],) = await settled(tracklog, name)
            details[name] = await detail(tracklog, rows[name])
    except BaseException:
        found.close()
        raise
    return Run(found, rows, details, outbound.log())


@pytest.fixture(scope="module")
def run(nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    url = nats_server.url
    run_sync(lambda: wipe_jetstream(url))
    directory = tmp_path_factory.mktemp("partner-tls")
    key = generate_master_key()
    started: list[ServiceProcess] = []

    def service(module: str, **settings: str) -> ServiceProcess:
        name = module.rsplit(".", 1)[-1]
        proc = start(module, url, directory / f"{name}.db", key, directory, **settings)
        started.append(proc)
        return proc

    environment_proxy = ConnectProxy()
    result: Run | None = None
    try:
        cert, tracklog = service("as2bus.cert"), service("as2bus.tracklog")
        outbound = service(
            "as2bus.outbound",
            AS2BUS_OUTBOUND_MAX_ATTEMPTS="2",
            AS2BUS_OUTBOUND_BACKOFF_SECONDS="0.2",
            AS2BUS_OUTBOUND_HTTP_TIMEOUT_SECONDS="5",
            HTTPS_PROXY=environment_proxy.url,
            NO_PROXY="127.0.0.1",
        )
        result = run_sync(lambda: send_everything(url, cert, tracklog, outbound, environment_proxy))
        yield result
    finally:
        if result is not None:
            result.partners.close()
        environment_proxy.close()
        for proc in reversed(started):
            stop(proc)


def delivered(run: Run, partner: str) -> None:
    row = run.rows[partner]
    assert (row["status"], row["attempts"]) == ("delivered", 1), row


def refused_at_once(run: Run, partner: str) -> str:
    row = run.rows[partner]
    assert (row["status"], row["attempts"]) == ("failed", 1), row
    assert row["error_code"] == "partner-refused"
    return str(row["verdict"])


def url(run: Run, partner: str) -> str:
    return run.partners.settings[partner][0]


def test_a_partner_with_a_private_ca_is_delivered_and_a_wrong_ca_refused(run: Run) -> None:
    delivered(run, "private_ca")
    assert refused_at_once(run, "wrong_ca") == (
        f"failed: TLS: the certificate of {url(run, 'wrong_ca')} is not trusted (unable to get "
        "local issuer certificate: issued by a CA we do not trust); not retried: the partner "
        "must fix its certificate (or the URL its host name), or the CA certificates in the "
        "partner's TLS settings be corrected"
    )


def test_pins_by_certificate_and_by_public_key_are_accepted(run: Run) -> None:
    delivered(run, "pin_cert")
    delivered(run, "pin_key")


def test_a_pin_mismatch_is_refused_before_any_byte_of_the_message(run: Run) -> None:
    impostor = run.partners.servers["impostor"]
    verdict = refused_at_once(run, "pin_mismatch")
    assert verdict.startswith("failed: TLS: the partner's certificate (SHA-256 ")
    assert verdict.endswith(
        f"matches none of the pinned ones ({url(run, 'pin_mismatch')}); not retried: the "
        "partner's TLS settings list the certificates it may present (or its keys)"
    )
    assert impostor.connections == 1  # the handshake was made, and then:
    assert impostor.received == 0
    assert impostor.requests == []


def test_mutual_tls_presents_our_keystore_certificate_and_says_when_it_is_missing(
    run: Run,
) -> None:
    delivered(run, "mutual_tls")
    assert refused_at_once(run, "mutual_tls_without") == (
        "failed: TLS: the partner requires a TLS client certificate "
        f"({url(run, 'mutual_tls_without')} asked for one and we sent none); not retried: set "
        "the partner's TLS settings to present ours"
    )
    assert len(run.partners.servers["mutual"].requests) == 1


def test_a_minimum_of_tls_1_3_fails_in_words_against_a_server_stuck_at_1_2(run: Run) -> None:
    assert refused_at_once(run, "tls13_only").startswith(
        f"failed: TLS: {url(run, 'tls13_only')} speaks no TLS version we accept (TLS 1.3 or "
        "newer for this partner; "
    )
    assert run.partners.servers["tls12"].requests == []


def test_verification_off_delivers_to_a_self_signed_server_and_says_so(run: Run) -> None:
    delivered(run, "unverified")
    assert (
        f"TLS verification is off for partner unverified ({url(run, 'unverified')}): its "
        "server is not authenticated; for a test partner only"
    ) in run.outbound_log


def test_the_partner_s_proxy_and_the_environment_s_carry_the_message(run: Run) -> None:
    delivered(run, "proxied")
    delivered(run, "environment_proxied")
    main, local = run.partners.servers["main"], run.partners.servers["local"]
    assert run.partners.proxy.connects == [f"127.0.0.1:{main.port}"]
    assert run.partners.environment_proxy.connects == [f"localhost:{local.port}"]


def test_a_307_is_followed_when_allowed_and_said_where_and_refused_otherwise(run: Run) -> None:
    delivered(run, "redirect_followed")
    timeline = run.details["redirect_followed"]["timeline"]
    (sent,) = [e for e in timeline if e["event_type"] == "MessageSent"]
    new = url(run, "redirect_followed").removesuffix("/old") + "/new"
    assert sent["data"]["posted_to"] == new  # the event's field, stored by tracklog-svc
    assert sent["summary"].endswith(f", posted to {new} after a redirect")
    assert not any(k.lower().startswith("x-as2bus") for k in sent["data"]["headers"])
    assert refused_at_once(run, "redirect_refused") == (
        f"failed: HTTP 307 from {url(run, 'redirect_refused')}: a redirect to {new}, not "
        "followed (a signed message is posted only to the partner's URL as configured); "
        "correct the partner's URL if it has moved"
    )
    targets = [r.target for r in run.partners.servers["main"].requests]
    assert targets.count("/old") == 2
    assert targets.count("/new") == 1
