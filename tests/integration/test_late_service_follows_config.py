"""A service that starts after config-svc loads the current configuration, then follows it.

This is the path every other service (inbound, outbound, tracklog) uses: config-svc runs as a
real process; the late starter only has NATS and ``ConfigReplica``.
"""

from __future__ import annotations

import httpx
import nats

from as2bus.shared.bus.replica import ConfigReplica
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import until

from .conftest import TOKEN


async def test_a_late_service_gets_the_configuration_then_its_changes(
    config_svc: ServiceProcess, nats_url: str
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=config_svc.base_url, headers=auth) as api:
        station = (await api.post("/api/v1/stations", json={"as2_id": "MYCO", "name": "Me"})).json()
        partner = (
            await api.post(
                "/api/v1/partners",
                json={"as2_id": "acme", "name": "Acme", "as2_url": "http://127.0.0.1:9/as2"},
            )
        ).json()
        link = {"station_id": station["id"], "partner_id": partner["id"]}
        assert (await api.post("/api/v1/partnerships", json=link)).status_code == 201

        nc = await nats.connect(nats_url)
        replica = ConfigReplica()
        try:
            await replica.start(nc.jetstream())  # returns once the current state is loaded
            await until(
                lambda: replica.find_partnership("MYCO", "acme"), what="the partnership in it"
            )
            assert {p.as2_id for p in replica.partners.values()} == {"acme"}

            await api.patch(f"/api/v1/partners/{partner['id']}", json={"enabled": False})
            await until(
                lambda: not next(iter(replica.partners.values())).enabled,
                what="the partner disabled",
            )

            found = replica.find_partnership("MYCO", "acme")
            assert found is not None
            assert (await api.delete(f"/api/v1/partnerships/{found.id}")).status_code == 204
            await until(
                lambda: replica.find_partnership("MYCO", "acme") is None,
                what="the partnership gone",
            )
        finally:
            await replica.stop()
            await nc.close()
