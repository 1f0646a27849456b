"""The loopback demo ``as2bus up`` creates once, on an empty configuration.

Two of our own stations, DEMO-A and DEMO-B, each also configured as a partner whose AS2 URL
is our own inbound endpoint, with generated keys and each other's certificates: DEMO-A sends
to "partner" DEMO-B, the message goes out over HTTP, comes back in as DEMO-B's, and the signed
MDN travels back to DEMO-A. Everything the gateway does, on one machine.
"""

from __future__ import annotations

from typing import Any

import httpx

DEMO_FROM, DEMO_TO = "DEMO-A", "DEMO-B"
TRY_IT = f"./as2bus send README.md --from {DEMO_FROM} --to {DEMO_TO}"


def set_up_demo(config_url: str, cert_url: str, inbound_url: str, token: str) -> bool:
    """Create the demo unless config-svc already has stations; True when created."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=60) as http:
        if http.get(f"{config_url}/api/v1/stations").json():
            return False
        stations: dict[str, dict[str, Any]] = {}
        partners: dict[str, dict[str, Any]] = {}
        for name in (DEMO_FROM, DEMO_TO):
            stations[name] = _ok(
                http.post(
                    f"{config_url}/api/v1/stations", json={"as2_id": name, "name": f"{name} (demo)"}
                )
            )
            alias = stations[name]["private_key_alias"]
            own = _ok(http.post(f"{cert_url}/api/v1/certificates/own", json={"alias": alias}))
            body = {"as2_id": name, "name": f"{name} (demo partner)", "as2_url": inbound_url}
            partners[name] = _ok(http.post(f"{config_url}/api/v1/partners", json=body))
            _ok(
                http.post(
                    f"{cert_url}/api/v1/certificates/partner",
                    data={"alias": partners[name]["as2_alias"]},
                    files={"file": (f"{name}.cer", own["cert_pem"].encode())},
                )
            )
        for station, partner in ((DEMO_FROM, DEMO_TO), (DEMO_TO, DEMO_FROM)):
            link = {"station_id": stations[station]["id"], "partner_id": partners[partner]["id"]}
            _ok(http.post(f"{config_url}/api/v1/partnerships", json=link))
    return True


def _ok(response: httpx.Response) -> dict[str, Any]:
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body
