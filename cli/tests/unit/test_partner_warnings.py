"""``as2bus partner create|update`` warn, on stderr as for --tls-no-verify, of a partner that
needs neither a signature nor encryption (anyone could send documents as it), and of an AS2
URL no partner's server can have (the cloud's metadata address)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Run = Callable[..., Any]
PARTNER = ("--as2-id", "NOSIGN", "--name", "No signature")
UNPROTECTED = (
    "warning: NOSIGN needs neither a signature nor encryption: anyone who can reach our AS2 "
    "endpoint can send documents as NOSIGN; set signing (and encryption) unless it is a test "
    "partner\n"
)


def test_creating_a_partner_without_signature_or_encryption_warns(run: Run, api: Any) -> None:
    result = run("partner", "create", *PARTNER, "--url", "https://nosign.example/as2",
                 "--signing", "none", "--encryption", "none")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr == UNPROTECTED
    assert "as2_id:" in result.stdout  # the partner is shown as ever


def test_updating_the_last_protection_away_warns_and_a_protected_partner_does_not(
    run: Run, api: Any
) -> None:
    api.add("partners", as2_id="NOSIGN", name="No", as2_url="https://n.example/as2",
            encryption_alg=None)  # fmt: skip
    assert run("partner", "update", "NOSIGN", "--name", "Still signed").stderr == ""
    result = run("partner", "update", "NOSIGN", "--signing", "none")
    assert result.exit_code == 0, result.output
    assert result.stderr == UNPROTECTED


def test_an_as2_url_at_the_metadata_address_warns(run: Run, api: Any) -> None:
    result = run("partner", "create", *PARTNER, "--url", "http://169.254.169.254/latest/")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "warning: NOSIGN's AS2 URL names 169.254.169.254, a link-local address "
        "(169.254.169.254 is the cloud's metadata service): messages and connection tests to "
        "NOSIGN go there; check that it is the partner's server\n"
    )
    for fine in ("https://10.1.2.3/as2", "http://127.0.0.1:8080/as2", "https://as2.example/"):
        assert run("partner", "update", "NOSIGN", "--url", fine).stderr == ""
