"""outbound-svc killed (SIGKILL) in the middle of a retry schedule: a new process on the same
database resumes it, and the partner receives the message exactly once."""

from __future__ import annotations

import signal
from pathlib import Path

import nats

from as2bus.contracts.send import send_document
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of, nothing_within

from .conftest import start
from .test_outbound_partners import EDI, PartnerServer, set_up


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
        await events_of(js, "MessageRetrying")  # the first attempt failed; a retry is scheduled
        first.kill()  # no clean-up at all, as a crashed pod
        second = start(
            "as2bus.outbound", nats_url, tmp_path / "outbound.db", master_key, tmp_path, **settings
        )
        sent = await events_of(js, "MessageSent", timeout=60)
        # A wrong second delivery (the retry the crashed instance scheduled, done as well)
        # would come after the 2 s backoff; that none comes can only be watched for a while.
        await nothing_within(3, lambda: server.flaky_delivered > 1, what="a second delivery")
        assert server.flaky_delivered == 1
        assert len(await events_of(js, "MessageSent")) == len(sent) == 1
        assert not await events_of(js, "MessageFailed", count=0)
    finally:
        await nc.close()
        if second is not None:
            assert second.stop() in (0, -signal.SIGTERM)
        first.stop()
