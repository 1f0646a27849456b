"""Keys per partnership through the real stack (issue #16, item 5): config-svc, cert-svc (on
SQLite and PostgreSQL) and inbound-svc as processes on one NATS, pyas2lib as the partners.

Partner acme exchanges with us under keystore MYCO:acme, as the README sets it up. Creating a
keystore for partner bravo must not change what acme's exchanges use: acme's next message,
encrypted to the certificate we gave it, is decrypted, and our MDN is signed with the same key,
which acme verifies with that certificate. Then a rotation of MYCO:acme: the old certificate
still decrypts during the overlap, our MDNs are signed with the new key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from as2bus.cert import x509
from as2bus.contracts import CertImported, CertRotated, KeystoreCreated
from as2bus.peers.pyas2lib_peer import pyas2
from as2bus.shared.bus.keys import CERT_EVENTS, KeyMaterialClient
from as2bus.shared.crypto import SecretBox
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import next_message

from .conftest import TOKEN, client, stop
from .test_cert_with_config import created
from .test_inbound_pyas2lib_partner import post, pyas2lib_reads_mdn

PASSWORD = "keystore-pass-123"
PAYLOAD = b"UNA:+.? 'UNB+UNOC:3+ACME+MYCO'UNH+1+ORDERS:D:96A:UN'" * 20


@pytest.fixture
def cert_svc(
    nats_url: str,
    master_key: str,
    tmp_path: Path,
    config_svc: ServiceProcess,
    database_url: str,
) -> Iterator[ServiceProcess]:
    """cert-svc on each database (the shared fixture runs it on SQLite only)."""
    env = {
        "AS2BUS_NATS_URL": nats_url,
        "AS2BUS_DATABASE_URL": database_url,
        "AS2BUS_API_TOKEN": TOKEN,
        "AS2BUS_MASTER_KEY": master_key,
        "AS2BUS_RELAY_IDLE_SECONDS": "0.2",
    }
    proc = ServiceProcess("as2bus.cert", env, tmp_path / "cert.log").start()
    yield proc
    stop(proc)


def sender(partner: x509.OwnKey, name: str, encrypt_to: bytes, verify_with: bytes) -> Any:
    """A signed and encrypted message from ``name`` asking for a signed sync MDN."""
    org = pyas2.Organization(
        as2_name=name, sign_key=(partner.key_pem + partner.cert.cert_pem).encode()
    )
    us = pyas2.Partner(
        as2_name="MYCO",
        verify_cert=verify_with,
        encrypt_cert=encrypt_to,
        validate_certs=False,
        sign=True,
        encrypt=True,
        enc_alg="aes_256_cbc",
        digest_alg="sha256",
        mdn_mode="SYNC",
        mdn_digest_alg="sha256",
    )
    message = pyas2.Message(org, us)
    message.build(PAYLOAD, filename="orders.edi", content_type="application/EDIFACT")
    return message


async def exchange(
    inbound: ServiceProcess, partner: x509.OwnKey, name: str, encrypt_to: bytes, verify: bytes
) -> tuple[str, str | None]:
    """The partner sends; returns what pyas2lib makes of our MDN ("processed", None when
    decrypted and our signature verifies with ``verify``)."""
    message = sender(partner, name, encrypt_to, verify)
    response = await post(inbound, message.headers, message.content)
    assert response.status_code == 200, response.text
    try:
        return pyas2lib_reads_mdn(message, dict(response.headers), response.content)
    except Exception as err:  # pyas2lib raises on some signature failures
        return "unreadable", repr(err)


async def set_up(config: httpx.AsyncClient, certs: httpx.AsyncClient) -> dict[str, Any]:
    """As the README: station, partners, partnerships, then keystore MYCO:acme and acme's
    certificate; returns acme's key and the certificate we sent acme."""
    station = await config.post("/api/v1/stations", json={"as2_id": "MYCO", "name": "Me"})
    for name in ("acme", "bravo"):
        body = {"as2_id": name, "name": name, "as2_url": f"https://{name}.example/as2"}
        partner = await config.post("/api/v1/partners", json=body)
        link = {"station_id": station.json()["id"], "partner_id": partner.json()["id"]}
        assert (await config.post("/api/v1/partnerships", json=link)).status_code == 201
    body = {"station": "MYCO", "partner": "acme", "password": PASSWORD}
    keystore = await created(lambda: certs.post("/api/v1/keystores", json=body))
    acme = x509.generate_self_signed("acme", now=datetime.now(UTC))
    upload = await certs.post(
        "/api/v1/certificates/partner",
        data={"alias": "acme"},
        files={"file": ("acme.cer", acme.cert.cert_pem.encode())},
    )
    assert upload.status_code == 201, upload.text
    ours = await certs.get(f"/api/v1/keystores/{keystore.json()['id']}/certificate.cer")
    return {"keystore": keystore.json(), "acme": acme, "ours": ours.content}


def about(event_type: type[Any], correlation_id: str) -> tuple[str, Callable[[Any], bool]]:
    """The subject of ``event_type`` and a test for its event about ``correlation_id`` (the
    alias): a ``next_message`` for the cert-svc event that one action publishes. inbound-svc
    subscribes to ``as2.evt.cert.>`` (``CERT_EVENTS``) and drops its cached key material on any
    message there: it gets this one when the test does."""
    assert event_type.subject.startswith(CERT_EVENTS.removesuffix(">"))
    return event_type.subject, lambda msg: json.loads(msg.data)["correlation_id"] == correlation_id


async def acme_keys(keys: KeyMaterialClient) -> tuple[str, list[str]]:
    """What inbound and outbound get from cert-svc for MYCO:acme: (signing, decryption) ids."""
    ring = await keys.keyring()
    now = datetime.now(UTC)
    alias = ring.own_alias("MYCO", "acme", "myco")
    return str(ring.signing_key(alias, now).id), [
        str(e.id) for e in ring.decryption_keys(alias, now)
    ]


async def test_a_keystore_for_another_partner_leaves_an_exchanging_partnership_its_key(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    nats_url: str,
    master_key: str,
) -> None:
    async with client(config_svc) as config, client(cert_svc) as certs:
        setup = await set_up(config, certs)
        acme, ours = setup["acme"], setup["ours"]
        assert await exchange(inbound_svc, acme, "acme", ours, ours) == ("processed", None)
        nc = await nats.connect(nats_url)
        keys = KeyMaterialClient(nc, SecretBox(master_key))
        await keys.start()
        try:
            before = await acme_keys(keys)

            body = {"station": "MYCO", "partner": "bravo", "password": PASSWORD}
            async with next_message(nc, *about(KeystoreCreated, "myco@bravo")) as got:
                bravo_store = await certs.post("/api/v1/keystores", json=body)
                assert bravo_store.status_code == 201, bravo_store.text
                await got()  # inbound has it too: its key cache is dropped, asked anew

            assert await exchange(inbound_svc, acme, "acme", ours, ours) == ("processed", None)
            assert await acme_keys(keys) == before
            bravo = x509.generate_self_signed("bravo", now=datetime.now(UTC))
            async with next_message(nc, *about(CertImported, "bravo")) as got:
                upload = await certs.post(
                    "/api/v1/certificates/partner",
                    data={"alias": "bravo"},
                    files={"file": ("bravo.cer", bravo.cert.cert_pem.encode())},
                )
                assert upload.status_code == 201, upload.text
                await got()  # inbound's key cache is dropped: bravo's certificate is in it
            ours_for_bravo = (
                await certs.get(f"/api/v1/keystores/{bravo_store.json()['id']}/certificate.cer")
            ).content
            assert ours_for_bravo != ours
            assert await exchange(inbound_svc, bravo, "bravo", ours_for_bravo, ours_for_bravo) == (
                "processed",
                None,
            )
        finally:
            await keys.stop()
            await nc.close()


async def test_a_rotated_partnership_key_overlaps_with_the_old_one(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    nats_url: str,
) -> None:
    nc = await nats.connect(nats_url)
    async with client(config_svc) as config, client(cert_svc) as certs:
        setup = await set_up(config, certs)
        acme, old, store = setup["acme"], setup["ours"], setup["keystore"]
        assert await exchange(inbound_svc, acme, "acme", old, old) == ("processed", None)

        try:
            async with next_message(nc, *about(CertRotated, "myco@acme")) as got:
                rotated = await certs.post(f"/api/v1/keystores/{store['id']}/rotate", json={})
                assert rotated.status_code == 201, rotated.text
                await got()  # inbound's key cache is dropped: the new key is in it
        finally:
            await nc.close()
        assert len(rotated.json()["own_certificates"]) == 2
        new = (await certs.get(f"/api/v1/keystores/{store['id']}/certificate.cer")).content
        assert new != old

        # Until acme switches, it still encrypts to the old certificate: that still decrypts.
        assert await exchange(inbound_svc, acme, "acme", old, new) == ("processed", None)
        assert await exchange(inbound_svc, acme, "acme", new, new) == ("processed", None)
