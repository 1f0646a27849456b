import pytest

from as2bus.config.domain import check_as2_id, check_partner_rules
from as2bus.shared.errors import InvalidFieldsError


@pytest.mark.parametrize(
    "good", ["amazon", "MYCO", "AS2 Partner 01", "a", "x" * 128, "ab-c_d.e@f!"]
)
def test_valid_as2_ids(good: str) -> None:
    assert check_as2_id(good) == good


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("", "1 to 128"),
        ("x" * 129, "1 to 128"),
        (" lead", "start or end with a space"),
        ("trail ", "start or end with a space"),
        ("tab\there", "printable ASCII"),
        ("café", "printable ASCII"),
        ('quo"te', "double quote"),
        ("back\\slash", "backslash"),
    ],
)
def test_invalid_as2_ids_say_why(bad: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_as2_id(bad)


def fields_of(err: pytest.ExceptionInfo[InvalidFieldsError]) -> set[str]:
    return {e.field for e in err.value.errors}


def test_async_mdn_needs_a_url_and_signed_mdn_an_algorithm() -> None:
    with pytest.raises(InvalidFieldsError) as err:
        check_partner_rules(
            {"mdn_mode": "async", "mdn_signature": "preferred", "mdn_signing_alg": None}, {}
        )
    assert fields_of(err) == {"async_mdn_url", "mdn_signing_alg"}


def test_basic_auth_needs_a_password() -> None:
    with pytest.raises(InvalidFieldsError) as err:
        check_partner_rules({"http_auth": {"type": "basic", "username": "u"}}, {})
    assert fields_of(err) == {"http_auth.password"}
    check_partner_rules({"http_auth": {"type": "basic", "username": "u"}}, {"password": "p"})


def test_token_auth_needs_a_token_and_the_field_its_placement_uses() -> None:
    auth = {"type": "token", "placement": "query", "param_name": ""}
    with pytest.raises(InvalidFieldsError) as err:
        check_partner_rules({"http_auth": auth}, {})
    assert fields_of(err) == {"http_auth.token", "http_auth.param_name"}


def test_a_token_refresh_needs_its_refresh_token_but_replaces_the_token() -> None:
    auth = {
        "type": "token",
        "placement": "header",
        "header_name": "Authorization",
        "refresh": {"uri": "/t"},
    }
    with pytest.raises(InvalidFieldsError) as err:
        check_partner_rules({"http_auth": auth}, {})
    assert fields_of(err) == {"http_auth.refresh.refresh_token"}
    check_partner_rules({"http_auth": auth}, {"refresh_token": "r"})


def test_as2_1_0_with_compression_is_refused_whichever_of_the_two_changed() -> None:
    """A patch may set one of them: the partner's complete settings are checked."""
    for compression in ("before-signing", "after-signing"):
        with pytest.raises(InvalidFieldsError) as err:
            check_partner_rules({"as2_version": "1.0", "compression": compression}, {})
        assert fields_of(err) == {"as2_version"}
        check_partner_rules({"as2_version": "1.1", "compression": compression}, {})
    check_partner_rules({"as2_version": "1.0", "compression": "none"}, {})
