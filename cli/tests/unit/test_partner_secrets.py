"""Partner credentials: how they are passed, asked for, kept, and never shown."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from as2bus.cli import ask

Run = Callable[..., Any]
SECRET = "s3cr3t-Pa55word"
CREATE = [
    "partner",
    "create",
    "--as2-id",
    "amazon",
    "--name",
    "Amazon",
    "--url",
    "https://a.test/as2",
]


def test_basic_auth_with_the_password_option(run: Run, api: Any) -> None:
    result = run(*CREATE, "--auth", "basic", "--username", "acme", "--password", SECRET)
    assert result.exit_code == 0, result.output
    [body] = api.bodies("POST")
    assert body["http_auth"] == {"type": "basic", "username": "acme", "password": SECRET}
    assert SECRET not in result.output
    assert "http_auth.password_set: yes" in result.stdout.splitlines()


def test_a_missing_password_is_asked_for_without_echo(
    run: Run, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ask, "at_terminal", lambda: True)
    result = run(*CREATE, "--auth", "basic", "--username", "acme", input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert "Password for partner 'amazon'" in result.output
    assert SECRET not in result.output
    assert api.bodies("POST")[0]["http_auth"]["password"] == SECRET


def test_a_piped_password_is_read_as_a_line_without_a_prompt_or_warning(run: Run, api: Any) -> None:
    result = run(*CREATE, "--auth", "basic", "--username", "acme", input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert "Password for" not in result.output  # a script gets no prompt
    assert "GetPassWarning" not in result.output
    assert api.bodies("POST")[0]["http_auth"]["password"] == SECRET
    nothing = run(*CREATE, "--auth", "basic", "--username", "acme", input="")
    assert nothing.exit_code == 1
    assert nothing.stderr == (
        "error: Password for partner 'amazon' needed: type it at a terminal, or give it as the "
        "first line of standard input\n"
    )


def test_the_password_may_come_from_the_environment(run: Run, api: Any) -> None:
    result = run(
        *CREATE, "--auth", "basic", "--username", "acme", env={"AS2BUS_PARTNER_PASSWORD": SECRET}
    )
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output  # not asked
    assert api.bodies("POST")[0]["http_auth"]["password"] == SECRET


def test_a_secret_echoed_in_an_error_is_masked(run: Run, api: Any) -> None:
    detail = [
        {"loc": ["body", "http_auth", "password"], "msg": f"{SECRET} is too weak", "type": "x"}
    ]
    api.fail("POST", "/partners", 422, {"detail": detail})
    result = run(*CREATE, "--auth", "basic", "--username", "acme", "--password", SECRET)
    assert result.exit_code == 1
    assert result.stderr == "error: http_auth.password: *** is too weak\n"


def test_json_output_carries_no_secret(run: Run) -> None:
    result = run("--json", *CREATE, "--auth", "token", "--token-value", SECRET)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert json.loads(result.stdout)["http_auth"]["token_set"] is True


def test_token_auth_options_map_to_the_api(run: Run, api: Any) -> None:
    args = ["--auth", "token", "--token-placement", "query", "--token-param", "key"]
    result = run(*CREATE, *args, input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert api.bodies("POST")[0]["http_auth"] == {
        "type": "token",
        "placement": "query",
        "param_name": "key",
        "token": SECRET,
    }


def test_options_of_another_auth_type_are_refused(run: Run, api: Any) -> None:
    result = run(*CREATE, "--auth", "token", "--username", "acme", "--token-value", SECRET)
    assert result.exit_code == 1
    assert result.stderr == "error: --username only apply with --auth basic\n"
    no_auth = run(*CREATE, "--token-header", "X-Key")
    assert no_auth.stderr == "error: --token-header only apply with --auth token\n"
    assert api.requests == []


def test_basic_auth_needs_a_username(run: Run) -> None:
    result = run(*CREATE, "--auth", "basic", "--password", SECRET)
    assert result.exit_code == 1
    assert result.stderr == "error: --username is required with --auth basic\n"


def test_update_keeps_the_stored_password_unless_a_new_one_is_given(run: Run, api: Any) -> None:
    auth = {"type": "basic", "username": "acme", "password_set": True}
    api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/", http_auth=auth)
    renamed = run("partner", "update", "amazon", "--username", "acme2")
    assert renamed.exit_code == 0, renamed.output
    assert "Password" not in renamed.output  # the stored one is kept, nothing is asked
    new = run("partner", "update", "amazon", "--password", SECRET)
    assert new.exit_code == 0, new.output
    assert SECRET not in new.output
    assert [b["http_auth"] for b in api.bodies("PATCH")] == [
        {"type": "basic", "username": "acme2"},
        {"type": "basic", "username": "acme2", "password": SECRET},
    ]


def test_switching_to_basic_auth_on_update_asks_for_a_password(run: Run, api: Any) -> None:
    api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    result = run("partner", "update", "amazon", "--auth", "basic", "--username", "u", input="pw\n")
    assert result.exit_code == 0, result.output
    assert api.bodies("PATCH") == [
        {"http_auth": {"type": "basic", "username": "u", "password": "pw"}}
    ]


def test_token_update_carries_the_other_token_settings_over(run: Run, api: Any) -> None:
    public = {"placement": "header", "header_name": "X-Key", "scheme": "",
              "param_name": "access_token", "body_field": "access_token"}  # fmt: skip
    auth = {"type": "token", **public, "token_set": True, "refresh": None}
    api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/", http_auth=auth)
    result = run("partner", "update", "amazon", "--token-scheme", "Token")
    assert result.exit_code == 0, result.output
    [body] = api.bodies("PATCH")
    assert body["http_auth"] == {"type": "token", **public, "scheme": "Token"}


def test_a_token_refresh_with_secret_headers_is_not_silently_dropped(run: Run, api: Any) -> None:
    refresh = {"uri": "/oauth", "header_names": ["X-Client-Secret"], "refresh_token_set": True}
    auth = {"type": "token", "token_set": True, "refresh": refresh}
    api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/", http_auth=auth)
    result = run("partner", "update", "amazon", "--token-value", SECRET)
    assert result.exit_code == 1
    assert "through the API" in result.stderr
    assert api.bodies("PATCH") == []
