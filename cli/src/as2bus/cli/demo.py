"""The loopback demo ``as2bus up`` creates once, on an empty configuration.

Two of our own stations, DEMO-A and DEMO-B, each also configured as a partner whose AS2 URL
is our own inbound endpoint: DEMO-A sends to "partner" DEMO-B, the message goes out over HTTP,
comes back in as DEMO-B's, and the signed MDN travels back to DEMO-A. Everything the gateway
does, on one machine.

Each partnership gets a keystore with a key of its own, as README tells a user to set up a
real partner (``as2bus keystore create``), and each side's certificate is the other's partner
certificate. So the console's Certificate and PartnerShip pages show the demo's certificates,
and ``as2bus keystore rotate`` (or the console's Rotate) works on it.

A demo an older as2bus made has no keystores: its partnerships sign and decrypt with their
stations' keys. ``add_missing_keystores`` gives each the keystore it lacks, on every ``up``.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from as2bus.cli.client import CliError, field_lines

DEMO_FROM, DEMO_TO = "DEMO-A", "DEMO-B"
TRY_IT = f"./as2bus send README.md --from {DEMO_FROM} --to {DEMO_TO}"
#: Both directions, (our station, the partner): one partnership and one keystore each.
DIRECTIONS = ((DEMO_FROM, DEMO_TO), (DEMO_TO, DEMO_FROM))
#: How long cert-svc may take to learn of a partnership config-svc has just stored (its
#: replica follows the bus), before a keystore for it can be created.
PARTNERSHIP_KNOWN_WITHIN = 15.0


def set_up_demo(
    config_url: str,
    cert_url: str,
    inbound_url: str,
    token: str,
    keystore_password: Callable[[], str] = functools.partial(secrets.token_urlsafe, 16),
) -> bool:
    """Create the demo unless config-svc already has stations; True when created.
    ``keystore_password`` gives the password of the keystores' exports, asked for only when
    the demo is created (``as2bus up`` keeps it among the data directory's secrets)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=60) as http:
        if http.get(f"{config_url}/api/v1/stations").json():
            return False
        stations: dict[str, dict[str, Any]] = {}
        partners: dict[str, dict[str, Any]] = {}
        for name in (DEMO_FROM, DEMO_TO):
            body = {"as2_id": name, "name": f"{name} (demo)"}
            stations[name] = _ok(http.post(f"{config_url}/api/v1/stations", json=body))
            body = {"as2_id": name, "name": f"{name} (demo partner)", "as2_url": inbound_url}
            partners[name] = _ok(http.post(f"{config_url}/api/v1/partners", json=body))
        for station, partner in DIRECTIONS:
            link = {"station_id": stations[station]["id"], "partner_id": partners[partner]["id"]}
            _ok(http.post(f"{config_url}/api/v1/partnerships", json=link))
        password = keystore_password()
        keystores = {
            (station, partner): _create_keystore(http, cert_url, station, partner, password)
            for station, partner in DIRECTIONS
        }
        # Each side trusts the other's certificate: DEMO-A's for DEMO-B is partner DEMO-A's.
        for (station, partner), keystore in keystores.items():
            theirs = keystores[(partner, station)]
            _ok(
                http.post(
                    f"{cert_url}/api/v1/certificates/partner",
                    data={"alias": theirs["partner_cert_alias"]},
                    files={"file": (f"{station}.cer", _own_pem(keystore).encode())},
                )
            )
    return True


def add_missing_keystores(
    config_url: str, cert_url: str, token: str, keystore_password: Callable[[], str]
) -> list[str]:
    """Give each of the demo's partnerships that has no keystore one (a demo an older as2bus
    made); the keystores created, as STATION:PARTNER. Such a partnership keeps the key it
    signs and decrypts with, its station's: cert-svc refuses to change a key in use when
    creating a keystore (the other side trusts its certificate), and ``keystore rotate`` gives
    it a key of its own, with an overlap. Partnerships other than the demo's are left alone;
    ``keystore_password`` is asked for only when a keystore is missing."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=60) as http:
        linked = _pairs(http.get(f"{config_url}/api/v1/partnerships"))
        kept = _pairs(http.get(f"{cert_url}/api/v1/keystores"))
        missing = [pair for pair in DIRECTIONS if pair in linked and pair not in kept]
        if not missing:
            return []
        password = keystore_password()
        for station, partner in missing:
            _create_keystore(http, cert_url, station, partner, password, own_key="existing")
    return [f"{station}:{partner}" for station, partner in missing]


def keystores_told(
    config_url: str,
    cert_url: str,
    token: str,
    keystore_password: Callable[[], str],
    password_file: Path,
) -> str:
    """``add_missing_keystores``, and the line that tells what it did ("" when nothing was
    missing). Never raises: ``up`` goes on, and a failure is one sentence with the commands
    that do it by hand."""
    try:
        added = add_missing_keystores(config_url, cert_url, token, keystore_password)
    except (httpx.HTTPError, CliError, OSError) as err:
        by_hand = " and ".join(
            f"as2bus keystore create --station {station} --partner {partner} --own-key existing"
            for station, partner in DIRECTIONS
        )
        return (
            f"The loopback demo's missing keystores could not be created ({_why(err)}): create "
            f"them by hand with {by_hand} (the password in {password_file}, or one of yours).\n"
        )
    if not added:
        return ""
    return (
        f"Created the loopback demo's missing keystores ({', '.join(added)}), each with the key "
        f"its partnership signs with; their export password is in {password_file}.\n"
    )


def _why(err: Exception) -> str:
    """The reason an API gave (its sentence), or the error's first line."""
    if isinstance(err, httpx.HTTPStatusError):
        try:
            detail = err.response.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        if detail is not None:
            return field_lines(detail)[0]
        return f"{err.request.url.host}:{err.request.url.port} answered {err.response.status_code}"
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _pairs(response: httpx.Response) -> set[tuple[str, str]]:
    """(station, partner) AS2 IDs of the partnerships or keystores listed."""
    response.raise_for_status()
    return {(item["station_as2_id"], item["partner_as2_id"]) for item in response.json()}


def _create_keystore(
    http: httpx.Client,
    cert_url: str,
    station: str,
    partner: str,
    password: str,
    own_key: str = "generate",
) -> dict[str, Any]:
    """The partnership's keystore, with a new key of its own (``own_key="existing"``: the
    station's), once cert-svc knows the partnership (asked again while it answers that it
    does not, yet)."""
    body = {"station": station, "partner": partner, "password": password, "own_key": own_key}
    deadline = time.monotonic() + PARTNERSHIP_KNOWN_WITHIN
    while True:
        response = http.post(f"{cert_url}/api/v1/keystores", json=body)
        unknown = response.status_code == 422 and "partnership_not_found" in response.text
        if not unknown or time.monotonic() > deadline:
            return _ok(response)
        time.sleep(0.2)


def _own_pem(keystore: dict[str, Any]) -> str:
    pem: str = keystore["own_certificates"][0]["cert_pem"]
    return pem


def _ok(response: httpx.Response) -> dict[str, Any]:
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body
