"""outbound-svc killed (SIGKILL) in the middle of a retry schedule: a new process on the same
database resumes it, and the partner receives the message exactly once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import nats

from as2bus.shared.bus.send import send_document
from as2bus.shared.testing.services import ServiceProcess

from .conftest import start
from .test_outbound_partners import EDI, PartnerServer, outcomes, set_up


async def test_a_crash_mid_retry_loses_nothing_and_sends_once(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    nats_url: str,
    master_key: str,
    tmp_path: Path,
    partner_servers: list[PartnerServer],
) -> None:
    server = await set_up(config_svc, cert_svc)
    partner_servers.append(server)
    server.flaky_failures = 2
    settings = {"AS2BUS_OUTBOUND_BACKOFF_SECONDS": "2"}
    first = start(
        "as2bus.outbound", nats_url, tmp_path / "outbound.db", master_key, tmp_path, **settings
    )
    second: ServiceProcess | None = None
    nc = await nats.connect(nats_url)
    try:
        await send_document(nc, EDI, station="MYCO", partner="flaky")
        js = nc.jetstream()
        await outcomes(js, 1, {"MessageRetrying"})  # the first attempt failed; a retry is scheduled
        first.kill()  # no clean-up at all, as a crashed pod
        second = start(
            "as2bus.outbound", nats_url, tmp_path / "outbound.db", master_key, tmp_path, **settings
        )
        sent = await outcomes(js, 1, {"MessageSent"}, timeout=60)
        await asyncio.sleep(3)  # room for a wrong second delivery to show up
        assert server.flaky_delivered == 1
        assert len(await outcomes(js, 1, {"MessageSent"})) == len(sent) == 1
        assert not await outcomes(js, 0, {"MessageFailed"}, timeout=0.2)
    finally:
        await nc.close()
        if second is not None:
            assert second.stop() in (0, -signal.SIGTERM)
        first.stop()
