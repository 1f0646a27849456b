"""outbound-svc stopped cleanly (SIGTERM) while a partner is still answering its POST: it
exits within its grace period, gives the message back at once instead of holding it until
its lease (300 s) runs out, and tracklog shows the attempt in progress, then the retry; the
next start delivers it, under the same Message-ID (issue #16 item 21)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import nats
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from as2bus.contracts.send import send_document
from as2bus.testing.infra import free_port
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of, nothing_within, until, until_sync

from .conftest import client, start_outbound, tracked
from .test_outbound_partners import EDI, PartnerServer, set_up

GRACE_SECONDS = 1


class StallingPartner:
    """Holds the first POST open (until ``release``); answers later ones at once."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.release = threading.Event()
        self.port = free_port()
        app = Starlette(routes=[Route("/as2", self.receive, methods=["POST"])])
        config = uvicorn.Config(app, port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        until_sync(lambda: self.server.started, what="the partner's web server", interval=0.01)

    async def receive(self, request: Request) -> Response:
        await request.body()
        self.message_ids.append(request.headers["message-id"])
        if len(self.message_ids) == 1:
            while not self.release.is_set():
                await asyncio.sleep(0.05)  # a stalling partner: polls the test's release
        return Response(b"ok")


async def add_partner(
    config_svc: ServiceProcess, cert_svc: ServiceProcess, url: str, their_cert: str
) -> None:
    async with client(config_svc) as config, client(cert_svc) as certs:
        (station,) = (await config.get("/api/v1/stations")).json()
        body = {"as2_id": "stalling", "name": "Stalling", "as2_url": url, "mdn_mode": "none"}
        partner = (await config.post("/api/v1/partners", json=body)).json()
        upload = await certs.post(
            "/api/v1/certificates/partner",
            data={"alias": partner["as2_alias"]},
            files={"file": ("p.cer", their_cert.encode())},
        )
        assert upload.status_code == 201, upload.text
        link = {"station_id": station["id"], "partner_id": partner["id"]}
        assert (await config.post("/api/v1/partnerships", json=link)).status_code == 201


def held_row(db: Path) -> tuple[Any, ...]:
    with sqlite3.connect(db) as conn:
        query = "SELECT status, lease_until, attempts, stopped_attempts FROM messages"
        (row,) = conn.execute(query).fetchall()
        return tuple(row)


async def test_a_clean_stop_mid_post_hands_the_message_back_at_once(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    tracklog_svc: ServiceProcess,
    nats_url: str,
    master_key: str,
    tmp_path: Path,
    partner_servers: list[Any],
) -> None:
    server: PartnerServer = await set_up(config_svc, cert_svc)
    partner_servers.append(server)
    partner = StallingPartner()
    partner_servers.append(partner)
    await add_partner(
        config_svc, cert_svc, f"http://127.0.0.1:{partner.port}/as2", server.keys.cert.cert_pem
    )
    grace = {"AS2BUS_OUTBOUND_STOP_GRACE_SECONDS": str(GRACE_SECONDS)}
    first = start_outbound(nats_url, master_key, tmp_path, **grace)
    second: ServiceProcess | None = None
    nc = await nats.connect(nats_url)
    try:
        await send_document(nc, EDI, station="MYCO", partner="stalling")
        # The POST is being answered, slowly.
        await until(lambda: partner.message_ids, what="the first POST", timeout=15)

        # The attempt in progress is visible as such, not as the state before it.
        (row,) = await tracked(tracklog_svc, 1, status="sending")
        assert (row["attempts"], row["error"]) == (1, "attempt 1 in progress")

        began = time.monotonic()
        assert first.stop() in (0, -signal.SIGTERM), first.log()
        assert time.monotonic() - began < GRACE_SECONDS + 5
        # Not held until the lease runs out: due again now, the attempt not counted.
        status, lease_until, attempts, stopped = held_row(tmp_path / "outbound.db")
        assert (status, lease_until, attempts, stopped) == ("retrying", None, 1, 1)
        (row,) = await tracked(tracklog_svc, 1, status="retrying")
        assert row["error"] == "outbound-svc stopped during the attempt; retried at once"

        began = time.monotonic()
        second = start_outbound(nats_url, master_key, tmp_path, **grace)
        js = nc.jetstream()
        await events_of(js, "MessageSent", timeout=20)
        assert time.monotonic() - began < 20  # not the 300 s lease
        (row,) = await tracked(tracklog_svc, 1, status="delivered")
        assert row["attempts"] == 2
        # A wrong third POST (the message due again) would come within a retry's backoff
        # (0.2 s here) plus outbound's look for due messages (every 0.25 s at most) of the
        # delivery. That none comes can only be watched for a while: a second.
        await nothing_within(1, lambda: partner.message_ids[2:], what="a third POST")
        assert len(partner.message_ids) == 2
        assert partner.message_ids[0] == partner.message_ids[1]  # the same Message-ID
        assert len(await events_of(js, "MessageSent")) == 1
    finally:
        partner.release.set()
        await nc.close()
        if second is not None:
            assert second.stop() in (0, -signal.SIGTERM), second.log()
        first.stop()
