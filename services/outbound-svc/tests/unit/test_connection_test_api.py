"""The connection test's route takes any AS2 ID, percent-encoded in the path: "/", "#", "&"
and "+" among them (the console's partner form allows them)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI

from as2bus.contracts import PartnerState
from as2bus.outbound.connection_test import ConnectionTest, Step
from as2bus.outbound.entrypoints import api
from as2bus.outbound.wiring import Components, wiring
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.web import ApiTokens, Scope, include_scoped
from as2bus.testing.config_states import partner_state

TOKEN = "outbound-operate-token-0123456789"


class RecordingTest(ConnectionTest):
    """Reaches nobody: records the partner it was asked to test."""

    def __init__(self) -> None:
        self.tested: list[str] = []

    async def run(self, partner: PartnerState) -> list[Step]:
        self.tested.append(partner.as2_id)
        return [Step("DNS", True, f"{partner.as2_id} resolved", 1)]


async def test_an_as2_id_with_a_slash_and_url_characters_is_tested(tmp_path: Any) -> None:
    replica = ConfigReplica()
    for as2_id in ("R&D/EU+1#2", "R&D", "EU+1#2"):
        partner = partner_state(as2_id)
        replica.partners[partner.id] = partner
    app = FastAPI()
    include_scoped(app, api.routers, ApiTokens({Scope.OPERATE: [TOKEN]}))
    tester = RecordingTest()
    unused: Any = None  # the route uses the replica and the connection test only
    wiring.install(app, Components(unused, unused, replica, unused, tester, unused, unused))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://o", headers=headers) as o:
        for as2_id in ("R&D/EU+1#2", "R&D"):
            answer = await o.post(f"/api/v1/partners/{quote(as2_id, safe='')}/connection-test")
            assert answer.status_code == 200, answer.text
            assert answer.json()[0]["detail"] == f"{as2_id} resolved"
        unknown = await o.post("/api/v1/partners/R%26D%2FUS/connection-test")
        assert unknown.status_code == 404
    assert tester.tested == ["R&D/EU+1#2", "R&D"]
