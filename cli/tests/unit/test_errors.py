"""How failures read: one line per field, no traceback, exit code 1."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from as2bus.cli.client import TOKEN_REFUSED, CliError, CliState, field_lines
from as2bus.cli.main import app

Run = Callable[..., Any]


def test_validation_errors_print_one_line_per_field(run: Run, api: Any) -> None:
    api.fail(
        "POST",
        "/partners",
        422,
        {
            "detail": [
                {
                    "loc": ["body", "as2_url"],
                    "msg": "Input should be a valid URL",
                    "type": "url_parsing",
                },
                {
                    "loc": ["body", "http_auth", "password"],
                    "msg": "Value error, required for basic authentication",
                    "type": "value_error",
                },
            ]
        },
    )
    result = run("partner", "create", "--as2-id", "x", "--name", "X", "--url", "nope")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: as2_url: Input should be a valid URL",
        "error: http_auth.password: required for basic authentication",
    ]


def test_a_conflict_reads_like_a_field_error(run: Run, api: Any) -> None:
    detail = [
        {
            "loc": ["body", "as2_id"],
            "msg": "a station with AS2 ID 'MYCO' already exists",
            "type": "conflict",
        }
    ]
    api.fail("POST", "/stations", 409, {"detail": detail})
    result = run("station", "create", "--as2-id", "MYCO", "--name", "My Co")
    assert result.exit_code == 1
    assert result.stderr == "error: as2_id: a station with AS2 ID 'MYCO' already exists\n"


def test_a_refused_token_says_how_to_set_one(run: Run, api: Any) -> None:
    api.fail("GET", "/stations", 401, {"detail": "missing or wrong API token"})
    result = run("station", "list")
    assert result.exit_code == 1
    assert result.stderr == f"error: {TOKEN_REFUSED}\n"
    assert "AS2BUS_API_TOKEN" in TOKEN_REFUSED
    assert "--token" in TOKEN_REFUSED


def test_no_token_anywhere_says_where_it_looked_not_that_one_was_refused(
    run: Run, api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.fail("GET", "/stations", 401, {"detail": "missing or wrong API token"})
    monkeypatch.setenv("AS2BUS_DATA_DIR", str(tmp_path / "checkout" / "var"))
    result = run("station", "list", token=False)
    assert result.exit_code == 1
    looked = tmp_path / "checkout" / "var" / "secrets" / "tokens" / "admin"
    assert result.stderr == (
        f"error: no API token found (looked in {looked}): run `make run` first, or set "
        "AS2BUS_API_TOKEN / --token\n"
    )
    assert "Authorization" not in api.requests[0].headers


def test_a_token_without_the_scope_says_which_scope_the_command_needs(run: Run, api: Any) -> None:
    detail = "this needs a token with the admin scope; yours has read"
    api.fail("POST", "/stations", 403, {"detail": detail})
    result = run("station", "create", "--as2-id", "MYCO", "--name", "My Co")
    assert result.exit_code == 1
    assert result.stderr == f"error: config-svc refused: {detail}\n"


def test_not_found_prints_the_detail(run: Run, api: Any) -> None:
    ref = "0b5f2b32-8ad8-4d58-9d8f-7cf4a4b1f0d4"
    result = run("partnership", "show", ref)
    assert result.exit_code == 1
    assert result.stderr == f"error: partnership {ref} not found\n"


def test_a_server_error_is_reported_briefly(run: Run, api: Any) -> None:
    api.fail("GET", "/stations", 500, {"detail": "Internal Server Error"})
    result = run("station", "list")
    assert result.exit_code == 1
    assert result.stderr == "error: config-svc answered 500: Internal Server Error\n"


def test_an_unreachable_service_suggests_starting_it(run: Run, api: Any) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    state = CliState(transport=httpx.MockTransport(refuse))
    result = CliRunner().invoke(
        app, ["--config-url", "http://127.0.0.1:1", "station", "list"], obj=state
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "error: cannot reach config-svc at http://127.0.0.1:1 — is it running? (make run)\n"
    )


def test_a_real_refused_connection_gives_the_same_message() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = CliRunner().invoke(app, ["--config-url", url, "station", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot reach config-svc at {url} — is it running?")
    assert "Traceback" not in result.output


def test_field_lines_tolerate_odd_shapes() -> None:
    assert field_lines("plain text") == ["plain text"]
    assert field_lines([{"loc": [], "msg": "whole body"}]) == ["whole body"]
    assert field_lines([{"loc": ["query", "station_id"], "msg": "bad uuid"}]) == [
        "station_id: bad uuid"
    ]
    assert field_lines([{"loc": ["body", "accepted_signing_algs", 1], "msg": "x"}]) == [
        "accepted_signing_algs (value 2): x"
    ]
    assert field_lines([]) == ["the request was refused"]


def test_something_else_at_the_url_is_pointed_out() -> None:
    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>hello</html>")

    state = CliState(transport=httpx.MockTransport(html))
    result = CliRunner().invoke(
        app, ["--config-url", "http://web.test", "station", "list"], obj=state
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "error: http://web.test did not answer like config-svc (no JSON); check --config-url\n"
    )


def test_a_short_secret_leaves_the_servers_sentence_whole(run: Run, api: Any) -> None:
    """Masking "x" everywhere once gave "the e***port password ..." (and showed the secret)."""
    rule = "the export password must be at least 8 characters long (and at most 256)"
    detail = [{"loc": ["body", "password"], "msg": rule, "type": "value_error",
               "error_code": "invalid_password"}]  # fmt: skip
    api.fail("POST", "/keystores", 422, {"detail": detail})
    args = ["keystore", "create", "--station", "MYCO", "--partner", "amazon", "--password", "x"]
    result = run(*args)
    assert result.exit_code == 1
    assert result.stderr == f"error: {rule}\n"

    detail = [{"loc": ["body", "as2_url"], "msg": "URL scheme should be 'http' or 'https'",
               "type": "url_scheme"}]  # fmt: skip
    api.fail("POST", "/partners", 422, {"detail": detail})
    result = run("partner", "create", "--as2-id", "bad2", "--name", "Bad", "--url", "ftp://x",
                 "--auth", "basic", "--username", "u", "--password", "e")  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == "error: as2_url: URL scheme should be 'http' or 'https'\n"


def test_a_secret_is_masked_only_where_it_stands_as_a_whole_value() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        detail = [{"loc": ["body", "password"], "msg": "no passwords like password (password)"}]
        return httpx.Response(422, json={"detail": detail})

    client = CliState(transport=httpx.MockTransport(echo)).client()
    client.secrets.add("password")
    with pytest.raises(CliError) as err:
        client.post("/x", {})
    assert err.value.lines == ["password: no passwords like *** (***)"]


def test_a_list_position_reads_as_people_count(run: Run, api: Any) -> None:
    detail = [{"loc": ["query", "status", 0], "msg": "Input should be 'new' or 'sent'",
               "type": "enum"}]  # fmt: skip
    api.fail("GET", "/messages", 422, {"detail": detail})
    result = run("track", "list", "--status", "bogus")
    assert result.exit_code == 1
    assert result.stderr == "error: status (value 1): Input should be 'new' or 'sent'\n"


def test_a_bad_option_value_reads_without_pydantic_wording() -> None:
    args = ["--as2-id", "X", "--name", "X", "--url", "https://x.example/as2"]
    result = CliRunner().invoke(app, ["partner", "create", *args, "--compression", "zlib"])
    assert result.exit_code == 2
    assert (
        "Invalid value for '--compression': 'zlib' is not one of 'none', 'before-signing', "
        "'after-signing'." in result.output
    )
    assert "Value error" not in result.output
