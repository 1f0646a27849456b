"""Where the real inbound-svc POSTs asynchronous MDNs: the Receipt-Delivery-Option is a header
no signature covers, so a sender (or whoever replays its message) must not make us POST to
our own network, nor anywhere new by sending a delivered Message-ID again.

The partner NOSIGN needs neither signature nor encryption: anyone may send as it, which is
what makes the URL anyone's choice. ONPREM, as unprotected, allows its own network for the
MDNs of its messages (its async_mdn_networks), which NOSIGN's messages gain nothing from."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from as2bus.testing.post_recorder import PostRecorder, post_recorder
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of, nothing_within, until

from .conftest import client, start_inbound, stop

EDI = b"ISA*00*          *00*          *ZZ*NOSIGN         *ZZ*MYCO           ~\r\nIEA*1*1~\r\n"


@pytest.fixture
def listener() -> Iterator[PostRecorder]:
    with post_recorder() as found:
        yield found


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[Any]:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()


async def unprotected_partner(config_svc: ServiceProcess, cert_svc: ServiceProcess) -> None:
    """MYCO (with its key) paired with NOSIGN, which signs and encrypts nothing."""
    partner = {
        "as2_id": "NOSIGN", "name": "No signature", "as2_url": "http://127.0.0.1:9/as2",
        "signing_alg": None, "encryption_alg": None,
    }  # fmt: skip
    async with client(config_svc) as config, client(cert_svc) as certs:
        station = await config.post("/api/v1/stations", json={"as2_id": "MYCO", "name": "Me"})
        created = await config.post("/api/v1/partners", json=partner)
        assert created.status_code == 201, created.text
        link = {"station_id": station.json()["id"], "partner_id": created.json()["id"]}
        assert (await config.post("/api/v1/partnerships", json=link)).status_code == 201
        ours = await certs.post("/api/v1/certificates/own", json={"alias": "myco"})
        assert ours.status_code == 201, ours.text


async def onprem_partner(config_svc: ServiceProcess, networks: list[str]) -> None:
    """ONPREM, unprotected as NOSIGN is, paired with MYCO, allowing ``networks``."""
    partner = {
        "as2_id": "ONPREM", "name": "On premises", "as2_url": "http://127.0.0.1:9/as2",
        "signing_alg": None, "encryption_alg": None, "async_mdn_networks": networks,
    }  # fmt: skip
    async with client(config_svc) as config:
        (station,) = (await config.get("/api/v1/stations")).json()
        created = await config.post("/api/v1/partners", json=partner)
        assert created.status_code == 201, created.text
        link = {"station_id": station["id"], "partner_id": created.json()["id"]}
        assert (await config.post("/api/v1/partnerships", json=link)).status_code == 201


async def post_plain(
    inbound: ServiceProcess, message_id: str, mdn_url: str, sender: str = "NOSIGN"
) -> httpx.Response:
    headers = {
        "AS2-Version": "1.2", "AS2-From": sender, "AS2-To": "MYCO", "Message-ID": message_id,
        "Content-Type": "application/edi-x12", "Disposition-Notification-To": "x@attacker",
        "Receipt-Delivery-Option": mdn_url,
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=inbound.base_url, timeout=30) as http:
        return await http.post("/as2", headers=headers, content=EDI)


def inbound_with(
    nats_url: str, master_key: str, tmp_path: Path, allowed: str
) -> Iterator[ServiceProcess]:
    proc = start_inbound(
        nats_url, master_key, tmp_path, AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS=allowed
    )
    yield proc
    stop(proc)


@pytest.fixture
def guarded_inbound(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    """inbound-svc with the default setting: no network allowed beyond the public ones."""
    yield from inbound_with(nats_url, master_key, tmp_path, "[]")


@pytest.fixture
def loopback_inbound(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    """inbound-svc allowed to post MDNs to loopback (as `as2bus up`'s demo is)."""
    yield from inbound_with(nats_url, master_key, tmp_path, '["127.0.0.0/8"]')


async def test_an_mdn_asked_for_at_loopback_is_not_posted(
    guarded_inbound: ServiceProcess,
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    listener: PostRecorder,
    js: Any,
) -> None:
    await unprotected_partner(config_svc, cert_svc)

    taken = await post_plain(guarded_inbound, f"<{uuid.uuid4()}@nosign>", f"{listener.url}/ssrf")

    assert taken.status_code == 200, taken.text  # delivered; the MDN is the one refused
    (sent,) = await events_of(js, "MdnSent")
    assert (sent["data"]["delivered"], sent["data"]["attempts"]) == (False, 1)
    assert "127.0.0.1, a loopback address" in sent["data"]["error"]
    assert "AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS" in sent["data"]["error"]
    assert listener.paths == []
    # Not retried: with the tests' 0.2 s backoff a second attempt would come within 2 s.
    await nothing_within(2, lambda: listener.paths, what="an MDN was posted to loopback")
    assert len(await events_of(js, "MdnSent", count=0)) == 1

    never = await post_plain(guarded_inbound, f"<{uuid.uuid4()}@nosign>", "file:///etc/passwd")
    assert never.status_code == 400
    assert "must be an http or https URL" in never.text


async def test_a_message_sent_again_with_another_url_gets_no_post_there(
    loopback_inbound: ServiceProcess,
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    listener: PostRecorder,
    js: Any,
) -> None:
    await unprotected_partner(config_svc, cert_svc)
    message_id = f"<{uuid.uuid4()}@nosign>"
    assert (await post_plain(loopback_inbound, message_id, f"{listener.url}/first")).is_success
    await until(lambda: listener.paths == ["/first"], what="the MDN at the first URL")

    for other in ("/dupA", "/dupB"):
        again = await post_plain(loopback_inbound, message_id, f"{listener.url}{other}")
        assert again.status_code == 200, again.text

    # Each duplicate's MDN goes where the first copy's went, and nowhere else.
    await events_of(js, "MdnSent", count=3)
    await until(lambda: len(listener.paths) == 3, what="the duplicates' MDNs")
    assert listener.paths == ["/first"] * 3
    assert len(await events_of(js, "MessageDuplicate", count=2)) == 2
    assert "was sent again naming" in loopback_inbound.log()


async def test_a_partners_own_network_gets_its_mdn_and_no_other_partners(
    guarded_inbound: ServiceProcess,
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    listener: PostRecorder,
    js: Any,
) -> None:
    """No network is allowed for every partner here: loopback is ONPREM's own."""
    await unprotected_partner(config_svc, cert_svc)
    await onprem_partner(config_svc, ["127.0.0.0/8"])

    taken = await post_plain(guarded_inbound, "<nosign-1@nosign>", f"{listener.url}/nosign")
    assert taken.status_code == 200, taken.text
    (refused,) = await events_of(js, "MdnSent")
    assert (refused["data"]["partner"], refused["data"]["delivered"]) == ("NOSIGN", False)
    assert "127.0.0.1, a loopback address" in refused["data"]["error"]
    assert "or the partner's async_mdn_networks" in refused["data"]["error"]

    mine = await post_plain(
        guarded_inbound, "<onprem-1@onprem>", f"{listener.url}/onprem", sender="ONPREM"
    )
    assert mine.status_code == 200, mine.text
    await until(lambda: listener.paths == ["/onprem"], what="ONPREM's MDN on loopback")
    _, delivered = await events_of(js, "MdnSent", count=2)
    assert (delivered["data"]["partner"], delivered["data"]["delivered"]) == ("ONPREM", True)
    assert listener.paths == ["/onprem"]
