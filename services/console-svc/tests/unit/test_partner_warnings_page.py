"""The Partner page warns of a partner that needs neither a signature nor encryption (anyone
could send documents as it), as the CLI and config-svc do: on the form while both are
"none", and in what a save says."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from as2bus.console.domain.partner_form import partner_values

from .conftest import client, csrf_of, sign_in
from .test_config_pages import ADMIN, ConfigBackends, pair
from .test_config_pages import backends as backends  # the fixture, re-exported for these tests

UNPROTECTED = (
    "Warning: NOSIGN needs neither a signature nor encryption: anyone who can reach our AS2 "
    "endpoint can send documents as NOSIGN; set signing (and encryption) unless it is a test "
    "partner."
)


def told(answer: Any) -> str:
    assert answer.status_code == 303, answer.text
    return parse_qs(urlsplit(str(answer.headers["location"])).query)["done"][0]


async def test_creating_or_saving_a_partner_without_signature_or_encryption_warns(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends)
    async with client(app) as http:
        await sign_in(http, ADMIN)
        form = await http.get("/partners/new")
        assert 'class="warning unprotected-warning"' in form.text  # shown by CSS when chosen
        made = await http.post("/partners", data={
            "csrf": csrf_of(form.text), "as2_id": "NOSIGN", "name": "No signature",
            "as2_alias": "", "email": "", "enabled": "on",
            "as2_url": "http://169.254.169.254/latest/meta-data/", "signing_alg": "none",
            "encryption_alg": "none", "mdn_mode": "sync", "max_concurrency": "5",
            "rate_limit_per_second": "", "auth_type": "none",
        })  # fmt: skip
        assert told(made) == " ".join([
            "Partner NOSIGN created.", UNPROTECTED,
            "Warning: NOSIGN's AS2 URL names 169.254.169.254, a link-local address "
            "(169.254.169.254 is the cloud's metadata service): messages and connection tests "
            "to NOSIGN go there; check that it is the partner's server.",
        ])  # fmt: skip

        page = await http.get(f"/partners/{ship['partner_id']}")
        acme = backends.config.partners[ship["partner_id"]]
        fields = {**partner_values(acme), "csrf": csrf_of(page.text), "signing_alg": "none",
                  "encryption_alg": "none"}  # fmt: skip
        saved = await http.post(f"/partners/{ship['partner_id']}", data=fields)
        assert told(saved).startswith("Partner ACME saved. Warning: ACME needs neither")

        signed = await http.post(f"/partners/{ship['partner_id']}",
                                 data={**fields, "signing_alg": "sha256"})  # fmt: skip
        assert told(signed) == "Partner ACME saved."
