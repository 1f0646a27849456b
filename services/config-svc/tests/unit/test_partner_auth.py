import json

from pydantic import TypeAdapter

from as2bus.config.partner_auth import split_auth
from as2bus.config.schemas import HttpAuthIn

AUTH: TypeAdapter[HttpAuthIn] = TypeAdapter(HttpAuthIn)


def test_basic_auth_splits_into_public_and_secret_parts() -> None:
    public, secrets = split_auth(
        AUTH.validate_python({"type": "basic", "username": "u", "password": "p"}), {}, {}
    )
    assert public == {"type": "basic", "username": "u", "password_set": True}
    assert secrets == {"password": "p"}


def test_an_omitted_secret_keeps_the_stored_one_of_the_same_type() -> None:
    stored_public = {"type": "basic", "username": "u", "password_set": True}
    public, secrets = split_auth(
        AUTH.validate_python({"type": "basic", "username": "v"}), stored_public, {"password": "p"}
    )
    assert public["username"] == "v"
    assert secrets == {"password": "p"}


def test_changing_the_auth_type_drops_the_old_secrets() -> None:
    public, secrets = split_auth(
        AUTH.validate_python({"type": "token"}), {"type": "basic"}, {"password": "p"}
    )
    assert public["token_set"] is False
    assert secrets == {}


def test_token_refresh_header_values_are_secret_and_names_public() -> None:
    auth = AUTH.validate_python(
        {
            "type": "token",
            "token": "tok-abc",
            "refresh": {
                "uri": "/oauth/token",
                "refresh_token": "refresh-def",
                "headers": {"X-Client": "client-secret-xyz"},
            },
        }
    )
    public, secrets = split_auth(auth, {}, {})
    assert public["refresh"]["header_names"] == ["X-Client"]
    assert public["refresh"]["refresh_token_set"] is True
    assert secrets == {
        "token": "tok-abc",
        "refresh_token": "refresh-def",
        "refresh_headers": {"X-Client": "client-secret-xyz"},
    }
    assert not {"tok-abc", "refresh-def", "client-secret-xyz"} & set(json.dumps(public).split('"'))


def test_omitted_refresh_headers_are_kept_and_an_empty_set_removes_them() -> None:
    stored = {"token": "t", "refresh_headers": {"X-Client": "client-secret-xyz"}}
    old_public = {"type": "token"}
    change = {"type": "token", "refresh": {"uri": "/oauth/token", "method": "PUT"}}
    public, secrets = split_auth(AUTH.validate_python(change), old_public, stored)
    assert secrets["refresh_headers"] == {"X-Client": "client-secret-xyz"}
    assert public["refresh"]["header_names"] == ["X-Client"]
    assert public["refresh"]["method"] == "PUT"
    change["refresh"]["headers"] = {}  # type: ignore[index]
    public, secrets = split_auth(AUTH.validate_python(change), old_public, stored)
    assert "refresh_headers" not in secrets
    assert public["refresh"]["header_names"] == []
