"""A partner's TLS settings as the admin API accepts them (schemas.PartnerTlsIn, partner_tls.py,
the cross-field rule of domain.py): every check, with a certificate of the shared test CA."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from as2bus.config.domain import check_partner_rules
from as2bus.config.schemas import PartnerCreate, PartnerUpdate
from as2bus.contracts.config import PartnerTls
from as2bus.shared.errors import InvalidFieldsError
from as2bus.testing.tls import PrivateCa, certificate_sha256, public_key_sha256

BASE = {"as2_id": "amazon", "name": "Amazon", "as2_url": "https://as2.example.com/as2"}
CA = PrivateCa("partner TLS CA")
KEY_PEM, SERVER_PEM = CA.issue(host="as2.example.com")


def tls_of(**fields: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = PartnerCreate.model_validate({**BASE, "tls": fields}).tls.model_dump()
    return dumped


def refusal(**fields: Any) -> dict[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as err:
        PartnerCreate.model_validate({**BASE, "tls": fields})
    return {tuple(e["loc"]): e["msg"] for e in err.value.errors()}


def test_a_new_partner_gets_the_contracts_defaults() -> None:
    assert PartnerCreate.model_validate(BASE).tls.model_dump() == PartnerTls().model_dump()


def test_every_field_is_accepted_and_certificates_are_kept_as_plain_pem() -> None:
    bundle = "Bag Attributes: openssl's notes\n" + (SERVER_PEM + CA.cert_pem).decode()
    tls = tls_of(
        ca_bundle_pem=bundle, pinned_sha256=[certificate_sha256(SERVER_PEM)],
        client_certificate=True, min_version="1.3", verify=False,
        proxy_url="http://proxy.example:3128", follow_redirects=True,
        require_client_certificate=True, client_certificates_pem=CA.cert_pem.decode(),
    )  # fmt: skip
    assert tls["ca_bundle_pem"] == (SERVER_PEM + CA.cert_pem).decode()  # the notes dropped
    assert tls["client_certificates_pem"] == CA.cert_pem.decode()
    assert (tls["client_certificate"], tls["min_version"], tls["verify"]) == (True, "1.3", False)
    assert (tls["proxy_url"], tls["follow_redirects"]) == ("http://proxy.example:3128", True)
    assert tls["require_client_certificate"] is True
    PartnerTls.model_validate(tls)  # what the contract carries


def test_pins_are_normalised_to_lower_case_hex_without_colons_each_once() -> None:
    pin = public_key_sha256(SERVER_PEM)
    as_openssl_prints = ":".join(pin[i : i + 2] for i in range(0, 64, 2)).upper()
    assert tls_of(pinned_sha256=[as_openssl_prints, f" {pin} ", pin])["pinned_sha256"] == [pin]


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "a" * 63, "a" * 65, "sha256/" + "a" * 64])
def test_a_pin_that_is_not_64_hex_digits_is_refused_by_its_position(bad: str) -> None:
    good = certificate_sha256(SERVER_PEM)
    errors = refusal(pinned_sha256=[good, bad])
    assert list(errors) == [("tls", "pinned_sha256", 1)]
    assert "64 hexadecimal digits" in errors["tls", "pinned_sha256", 1]


@pytest.mark.parametrize("field", ["ca_bundle_pem", "client_certificates_pem"])
@pytest.mark.parametrize(
    "bad",
    [
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "café " + SERVER_PEM.decode(),  # text that cannot be PEM
    ],
)
def test_text_that_is_not_pem_certificates_is_refused_in_one_sentence(field: str, bad: str) -> None:
    errors = refusal(**{field: bad})
    assert list(errors) == [("tls", field)]
    assert "must be one or more PEM certificates" in errors["tls", field]


@pytest.mark.parametrize("field", ["ca_bundle_pem", "client_certificates_pem"])
def test_a_private_key_pasted_by_mistake_is_refused_and_never_repeated(field: str) -> None:
    for pasted in (KEY_PEM + SERVER_PEM, KEY_PEM):
        with pytest.raises(ValidationError) as err:
            PartnerCreate.model_validate({**BASE, "tls": {field: pasted.decode()}})
        (error,) = err.value.errors(include_input=False)
        assert error["loc"] == ("tls", field)
        assert "holds a private key" in error["msg"]
        key_body = KEY_PEM.decode().splitlines()[1]
        assert key_body not in error["msg"]


def test_a_huge_bundle_is_refused() -> None:
    errors = refusal(ca_bundle_pem=CA.cert_pem.decode() * 100)
    assert "not a whole bundle" in errors["tls", "ca_bundle_pem"]


def test_empty_pem_and_proxy_mean_none() -> None:
    tls = tls_of(ca_bundle_pem="  \n", client_certificates_pem="", proxy_url=" ")
    assert (tls["ca_bundle_pem"], tls["client_certificates_pem"], tls["proxy_url"]) == (
        None, None, None)  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("socks5://proxy:1080", "http:// or https://"),
        ("proxy.example:3128", "http:// or https://"),
        ("http://", "with a host"),
        ("http://proxy:port", "such as http://proxy.example:3128"),
        ("http://user:pw@proxy:3128", "must not hold a user name or password"),
    ],
)
def test_a_proxy_must_be_an_http_url_with_a_host_and_no_credentials(bad: str, says: str) -> None:
    errors = refusal(proxy_url=bad)
    assert list(errors) == [("tls", "proxy_url")]
    assert says in errors["tls", "proxy_url"]
    assert "pw" not in errors["tls", "proxy_url"]


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"min_version": "1.1"}, ("tls", "min_version")),
        ({"verify": "maybe"}, ("tls", "verify")),
        ({"pinned_sha256": "a" * 64}, ("tls", "pinned_sha256")),
        ({"surprise": True}, ("tls", "surprise")),
    ],
)
def test_other_bad_values_name_their_field(fields: dict[str, Any], loc: tuple[str, ...]) -> None:
    assert loc in refusal(**fields)


def test_an_update_knows_which_tls_fields_were_given() -> None:
    update = PartnerUpdate.model_validate({"tls": {"verify": False}})
    assert update.model_dump(exclude_unset=True) == {"tls": {"verify": False}}
    assert "tls" not in PartnerUpdate.model_validate({}).model_dump(exclude_unset=True)


def test_mutual_tls_on_receipt_needs_the_partners_certificates() -> None:
    tls = PartnerTls(require_client_certificate=True).model_dump()
    with pytest.raises(InvalidFieldsError) as err:
        check_partner_rules({"tls": tls}, {})
    (error,) = err.value.errors
    assert error.field == "tls.client_certificates_pem"
    assert "required when require_client_certificate is on" in error.message
    check_partner_rules({"tls": {**tls, "client_certificates_pem": CA.cert_pem.decode()}}, {})
