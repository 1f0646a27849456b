"""cert-svc with config-svc, both real processes: keystores for a partnership, exports that
openssl reads, key material over NATS with the cache dropped on rotation, and bad input."""

from __future__ import annotations

import subprocess
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats

from as2bus.cert import x509
from as2bus.shared.bus.keys import KeyMaterialClient
from as2bus.shared.crypto import SecretBox
from as2bus.shared.keyring import KeyRing
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import until

PASSWORD = "keystore-pass-123"


async def created(post: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """``post``'s 201 answer, asked again while cert-svc's replica catches up with config-svc
    (until then it does not know the partnership)."""

    async def answer() -> httpx.Response:
        response = await post()
        assert response.status_code == 201, response.text
        return response

    return await until(answer, what="cert-svc to create it (201)")


async def partnership(config_api: httpx.AsyncClient) -> None:
    station = await config_api.post("/api/v1/stations", json={"as2_id": "MYCO", "name": "Me"})
    partner = await config_api.post(
        "/api/v1/partners",
        json={"as2_id": "acme", "name": "Acme", "as2_url": "https://acme.example/as2"},
    )
    link = {"station_id": station.json()["id"], "partner_id": partner.json()["id"]}
    assert (await config_api.post("/api/v1/partnerships", json=link)).status_code == 201


def partner_pem() -> bytes:
    return x509.generate_self_signed("acme", now=datetime.now(UTC)).cert.cert_pem.encode()


async def test_a_partnership_keystore_from_config_to_export_and_key_material(
    config_api: httpx.AsyncClient,
    cert_api: httpx.AsyncClient,
    cert_svc: ServiceProcess,
    nats_url: str,
    master_key: str,
    tmp_path: Path,
) -> None:
    await partnership(config_api)
    body = {"station": "MYCO", "partner": "acme", "password": PASSWORD}
    store = (await created(lambda: cert_api.post("/api/v1/keystores", json=body))).json()
    own = store["own_certificates"][0]
    assert own["alias"] == "myco@acme"  # the partnership's own key, not the station's
    assert own["used_by"]["stations"] == []
    assert own["used_by"]["partnerships"] == ["MYCO:acme"]
    upload = await cert_api.post(
        "/api/v1/certificates/partner",
        data={"alias": "acme"},
        files={"file": ("acme.cer", partner_pem())},
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["used_by"]["partners"] == ["acme"]

    p12 = await cert_api.get(f"/api/v1/keystores/{store['id']}/keystore.p12")
    assert p12.headers["content-type"] == "application/x-pkcs12"
    (tmp_path / "ks.p12").write_bytes(p12.content)
    info = subprocess.run(
        [
            "openssl",
            "pkcs12",
            "-in",
            str(tmp_path / "ks.p12"),
            "-info",
            "-nokeys",
            "-passin",
            f"pass:{PASSWORD}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "friendlyName: myco@acme" in info.stdout
    assert "friendlyName: acme" in info.stdout
    cer = await cert_api.get(f"/api/v1/keystores/{store['id']}/certificate.cer")
    assert cer.text.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in cer.text

    nc = await nats.connect(nats_url)
    keys = KeyMaterialClient(nc, SecretBox(master_key))
    await keys.start()
    try:
        ring = await keys.keyring()
        now = datetime.now(UTC)
        signing = ring.signing_key("myco@acme", now)
        assert b"PRIVATE KEY" in keys.private_key_pem(signing)
        assert len(ring.verification_certificates("acme", now)) == 1

        rotated = await cert_api.post("/api/v1/certificates/own", json={"alias": "myco@acme"})
        assert rotated.status_code == 201

        async def rotation_seen() -> KeyRing:  # the CertRotated event drops the cache
            ring = await keys.keyring()
            assert len(ring.decryption_keys("myco@acme", datetime.now(UTC))) == 2
            return ring

        ring = await until(rotation_seen, what="the cached key ring to have both keys")
        assert str(ring.signing_key("myco@acme", datetime.now(UTC)).id) == rotated.json()["id"]
    finally:
        await keys.stop()
        await nc.close()

    database = (tmp_path / "cert.db").read_bytes()
    assert b"PRIVATE KEY" not in database
    assert PASSWORD.encode() not in database
    assert PASSWORD not in cert_svc.log()


async def test_bad_requests_are_refused_clearly(
    cert_api: httpx.AsyncClient, cert_svc: ServiceProcess
) -> None:
    async with httpx.AsyncClient(base_url=cert_svc.base_url) as anonymous:
        assert (await anonymous.get("/api/v1/certificates")).status_code == 401
    too_big = await cert_api.post(
        "/api/v1/certificates/partner",
        data={"alias": "acme"},
        files={"file": ("big.cer", b"0" * (2 * 1024 * 1024))},
    )
    assert too_big.status_code == 413
    not_a_cert = await cert_api.post(
        "/api/v1/certificates/partner", data={"alias": "acme"}, files={"file": ("x.cer", b"hi")}
    )
    assert not_a_cert.status_code == 422
    assert not_a_cert.json()["detail"][0]["loc"] == ["body", "file"]
    wrong_password = await cert_api.post(
        "/api/v1/certificates/own/import",
        data={"alias": "myco", "password": "wrong-password"},
        files={"file": ("me.p12", own_p12())},
    )
    assert wrong_password.status_code == 422
    assert wrong_password.json()["detail"][0]["loc"] == ["body", "password"]
    assert (await cert_api.get("/api/v1/certificates")).json() == []


def own_p12() -> bytes:
    own = x509.generate_self_signed("me", now=datetime.now(UTC))
    return x509.export_keystore_p12(own, "me", [], "right-password")


async def test_a_certificate_stored_a_moment_ago_is_found_before_a_message_fails_for_it(
    config_api: httpx.AsyncClient,
    cert_api: httpx.AsyncClient,
    cert_svc: ServiceProcess,
    nats_url: str,
    master_key: str,
) -> None:
    """A cache that has not yet seen the certificate's event (here: it never will) asks
    cert-svc again on a miss, at most once a second, instead of failing the message."""
    await partnership(config_api)
    body = {"station": "MYCO", "partner": "acme", "password": PASSWORD}
    await created(lambda: cert_api.post("/api/v1/keystores", json=body))
    nc = await nats.connect(nats_url)
    keys = KeyMaterialClient(nc, SecretBox(master_key))  # not started: sees no event
    try:
        stale = await keys.keyring()
        assert stale.verification_certificates("acme", datetime.now(UTC)) == []
        upload = await cert_api.post("/api/v1/certificates/partner", data={"alias": "acme"},
                                     files={"file": ("acme.cer", partner_pem())})  # fmt: skip
        assert upload.status_code == 201, upload.text
        assert await keys.keyring() is stale  # cached: the event would have dropped it
        fresh = await keys.keyring(fresh=True)
        assert len(fresh.verification_certificates("acme", datetime.now(UTC))) == 1
        assert await keys.keyring(fresh=True) is fresh  # within a second: not asked again
    finally:
        await nc.close()
