import pytest
from pydantic import ValidationError

from as2bus.as2.algorithms import EncryptionAlg, KeyTransport, SignatureScheme, SigningAlg
from as2bus.config.schemas import PartnerCreate, PartnerUpdate, StationCreate

BASE = {"as2_id": "amazon", "name": "Amazon", "as2_url": "https://as2.example.com/as2"}


def locs(err: pytest.ExceptionInfo[ValidationError]) -> set[tuple[str | int, ...]]:
    return {tuple(e["loc"]) for e in err.value.errors()}


def test_partner_defaults_are_the_secure_common_choice() -> None:
    partner = PartnerCreate.model_validate(BASE)
    assert partner.signing_alg is SigningAlg.SHA256
    assert partner.encryption_alg is EncryptionAlg.AES256
    assert partner.mdn_signature == "required"
    assert partner.mdn_mode == "sync"
    assert partner.max_concurrency == 25
    assert partner.signature_scheme is SignatureScheme.PKCS1V15
    assert partner.key_transport is KeyTransport.RSA_PKCS1V15
    assert partner.accept_expired_mdn_certificate is False


def test_modern_algorithms_are_settings_and_unknown_ones_are_named() -> None:
    partner = PartnerCreate.model_validate(
        {**BASE, "signature_scheme": "rsassa-pss", "key_transport": "rsa-oaep-sha256",
         "encryption_alg": "AES-256-GCM"}
    )  # fmt: skip
    assert partner.signature_scheme is SignatureScheme.PSS
    assert partner.key_transport is KeyTransport.RSA_OAEP_SHA256
    assert partner.encryption_alg is EncryptionAlg.AES256_GCM
    with pytest.raises(ValidationError) as err:
        PartnerCreate.model_validate({**BASE, "key_transport": "rsa-oaep-md5"})
    assert locs(err) == {("key_transport",)}


def test_algorithm_spellings_and_none_are_accepted() -> None:
    partner = PartnerCreate.model_validate(
        {**BASE, "signing_alg": "SHA-1", "encryption_alg": "none", "mdn_signing_alg": "sha-512"}
    )
    assert partner.signing_alg is SigningAlg.SHA1
    assert partner.encryption_alg is None
    assert partner.mdn_signing_alg is SigningAlg.SHA512


@pytest.mark.parametrize(
    ("override", "loc"),
    [
        ({"as2_url": "ftp://x"}, ("as2_url",)),
        ({"as2_id": "x" * 129}, ("as2_id",)),
        ({"signing_alg": "md5"}, ("signing_alg",)),
        ({"max_concurrency": 26}, ("max_concurrency",)),
        ({"max_concurrency": 0}, ("max_concurrency",)),
        ({"rate_limit_per_second": 0}, ("rate_limit_per_second",)),
        ({"email": "not-an-email"}, ("email",)),
        ({"as2_alias": "has space"}, ("as2_alias",)),
        ({"surprise": 1}, ("surprise",)),
        ({"http_auth": {"type": "kerberos"}}, ("http_auth",)),
        # A header's value: a line break would end the Subject and start another header.
        ({"default_subject": "PO\r\nBcc: x@evil.example"}, ("default_subject",)),
        ({"default_subject": ""}, ("default_subject",)),
        ({"default_subject": "x" * 257}, ("default_subject",)),
    ],
)
def test_bad_partner_input_names_the_field(
    override: dict[str, object], loc: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as err:
        PartnerCreate.model_validate({**BASE, **override})
    assert loc in locs(err)


@pytest.mark.parametrize(
    ("given", "signature"),
    [
        ({"mdn_signed": True}, "required"),
        ({"mdn_signed": False}, "none"),
        ({"mdn_signed": True, "mdn_signature": "preferred"}, "preferred"),
        ({"mdn_signature": "none"}, "none"),
    ],
)
def test_the_older_mdn_signed_becomes_mdn_signature(
    given: dict[str, object], signature: str
) -> None:
    for model in (PartnerCreate.model_validate({**BASE, **given}), PartnerUpdate(**given)):
        assert model.mdn_signature == signature
    assert "mdn_signature" in PartnerUpdate.model_validate(given).model_fields_set


def test_mdn_signed_and_mdn_signature_that_disagree_are_refused() -> None:
    with pytest.raises(ValidationError, match="contradicts"):
        PartnerUpdate.model_validate({"mdn_signed": False, "mdn_signature": "required"})


def test_a_default_subject_is_kept_and_an_update_may_clear_it() -> None:
    partner = PartnerCreate.model_validate({**BASE, "default_subject": "EDI 850 from MyCo"})
    assert partner.default_subject == "EDI 850 from MyCo"
    cleared = PartnerUpdate.model_validate({"default_subject": None})
    assert cleared.model_dump(exclude_unset=True) == {"default_subject": None}


def test_update_knows_which_fields_were_sent() -> None:
    update = PartnerUpdate.model_validate({"name": "New", "email": None})
    assert update.model_fields_set == {"name", "email"}


def test_secrets_do_not_show_in_repr_or_dumps() -> None:
    partner = PartnerCreate.model_validate(
        {**BASE, "http_auth": {"type": "basic", "username": "u", "password": "hunter2"}}
    )
    assert "hunter2" not in repr(partner)
    assert "hunter2" not in partner.model_dump_json()


def test_station_accepts_algorithm_lists_in_any_spelling() -> None:
    station = StationCreate.model_validate(
        {"as2_id": "MYCO", "name": "My Co", "accepted_signing_algs": ["SHA-256", "sha1"]}
    )
    assert station.accepted_signing_algs == [SigningAlg.SHA256, SigningAlg.SHA1]
    assert station.accepted_encryption_algs == list(EncryptionAlg)


def test_line_endings_and_the_as2_version_are_settings() -> None:
    partner = PartnerCreate.model_validate(BASE)
    assert (partner.canonicalize_line_endings, partner.as2_version) == (False, "1.2")
    partner = PartnerCreate.model_validate(
        {**BASE, "canonicalize_line_endings": True, "as2_version": "1.0"}
    )
    assert (partner.canonicalize_line_endings, partner.as2_version) == (True, "1.0")
    with pytest.raises(ValidationError) as err:
        PartnerCreate.model_validate({**BASE, "as2_version": "2.0"})
    assert locs(err) == {("as2_version",)}


@pytest.mark.parametrize("model", [PartnerCreate, PartnerUpdate])
def test_as2_1_0_with_compression_is_a_field_error(model: type[PartnerCreate]) -> None:
    with pytest.raises(ValidationError) as err:
        model.model_validate({**BASE, "as2_version": "1.0", "compression": "before-signing"})
    assert locs(err) == {("as2_version",)}
    assert "AS2 1.0 has no compression" in str(err.value)
    model.model_validate({**BASE, "as2_version": "1.1", "compression": "after-signing"})
    model.model_validate({**BASE, "as2_version": "1.0", "compression": "none"})


def test_replay_protection_is_on_for_new_partners_and_optional_in_an_update() -> None:
    assert PartnerCreate.model_validate(BASE).replay_protection is True
    assert (
        PartnerCreate.model_validate({**BASE, "replay_protection": False}).replay_protection
        is False
    )
    update = PartnerUpdate.model_validate({})
    assert "replay_protection" not in update.model_dump(exclude_unset=True)  # kept as it is
    assert PartnerUpdate.model_validate({"replay_protection": True}).replay_protection is True


@pytest.mark.parametrize(
    ("field", "value", "known"),
    [
        ("encryption_alg", "des", "none, 3des, aes128-cbc"),
        ("signing_alg", "md5", "none, sha1, sha224"),
    ],
)
def test_an_unknown_algorithm_lists_none_where_none_is_accepted(
    field: str, value: str, known: str
) -> None:
    with pytest.raises(ValidationError) as err:
        PartnerCreate.model_validate({**BASE, field: value})
    assert f"unknown {field.split('_')[0]}" in str(err.value)
    assert f"(known: {known}" in str(err.value)
