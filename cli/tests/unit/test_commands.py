"""The remaining command behaviour: updates, deletes, tokens, keygen, help texts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from as2bus.cli.main import app
from as2bus.shared.chassis import api_tokens
from as2bus.shared.crypto import SecretBox
from as2bus.shared.settings import ServiceSettings
from as2bus.shared.web import Scope

from .conftest import TOKEN, value

Run = Callable[..., Any]


def test_partner_create_sends_only_what_was_given(run: Run, api: Any) -> None:
    result = run("partner", "create", "--as2-id", "amazon", "--name", "Amazon", "--url", "https://a.test/",
                 "--mdn", "async", "--async-mdn-url", "https://us.test/mdn",
                 "--mdn-signature", "none", "--encryption", "none", "--signing", "SHA-256",
                 "--compression", "before-signing", "--signature-scheme", "rsassa-pss",
                 "--key-transport", "rsa-oaep-sha256", "--accept-expired-mdn-cert",
                 "--canonicalize-line-endings", "--as2-version", "1.1",
                 "--no-replay-protection",
                 "--encoding", "base64", "--rate-limit", "2.5", "--max-concurrency", "3",
                 "--disabled", "--alias", "amz", "--email", "edi@amazon.test",
                 "--subject", "EDI from MyCo")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert api.bodies("POST") == [{
        "as2_id": "amazon", "name": "Amazon", "as2_url": "https://a.test/", "as2_alias": "amz",
        "email": "edi@amazon.test", "default_subject": "EDI from MyCo", "mdn_mode": "async",
        "async_mdn_url": "https://us.test/mdn",
        "mdn_signature": "none", "encryption_alg": "none", "signing_alg": "SHA-256",
        "compression": "before-signing", "outgoing_encoding": "base64", "max_concurrency": 3,
        "rate_limit_per_second": 2.5, "enabled": False, "signature_scheme": "rsassa-pss",
        "key_transport": "rsa-oaep-sha256", "accept_expired_mdn_certificate": True,
        "canonicalize_line_endings": True, "as2_version": "1.1", "replay_protection": False,
    }]  # fmt: skip


def test_partner_update_sends_only_the_changes(run: Run, api: Any) -> None:
    api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    result = run(
        "partner",
        "update",
        "amazon",
        "--url",
        "https://b.test/",
        "--mdn-signature",
        "preferred",
        "--rate-limit",
        "0",
        "--subject",
        "",
    )
    assert result.exit_code == 0, result.output
    assert api.bodies("PATCH") == [
        {"as2_url": "https://b.test/", "mdn_signature": "preferred", "rate_limit_per_second": None,
         "default_subject": None}  # "": back to AS2 Message
    ]  # fmt: skip
    assert value(result.stdout, "as2_url") == "https://b.test/"


def test_partner_update_turns_replay_protection_on(run: Run, api: Any) -> None:
    api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    result = run("partner", "update", "amazon", "--replay-protection")
    assert result.exit_code == 0, result.output
    assert api.bodies("PATCH") == [{"replay_protection": True}]


def test_an_update_without_changes_is_an_error(run: Run, api: Any) -> None:
    api.add("stations", as2_id="MYCO", name="My Co")
    api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    for kind, ref in (("station", "MYCO"), ("partner", "amazon")):
        result = run(kind, "update", ref)
        assert result.exit_code == 1
        assert result.stderr.startswith("error: give at least one option to change")
    assert api.bodies("PATCH") == []


def test_station_update_renames(run: Run, api: Any) -> None:
    station = api.add("stations", as2_id="MYCO", name="My Co")
    result = run("station", "update", "MYCO", "--as2-id", "MYCO2", "--accept-signing", "sha512")
    assert result.exit_code == 0, result.output
    assert api.bodies("PATCH") == [{"as2_id": "MYCO2", "accepted_signing_algs": ["sha512"]}]
    assert api.requests[-1].url.path == f"/api/v1/stations/{station['id']}"


def test_delete_asks_first(run: Run, api: Any) -> None:
    api.add("stations", as2_id="MYCO", name="My Co")
    kept = run("station", "delete", "MYCO", input="n\n")
    assert kept.exit_code == 1
    assert "Delete station 'MYCO'?" in kept.output
    assert [r.method for r in api.requests] == ["GET", "GET"]  # the station, its partnerships
    deleted = run("station", "delete", "MYCO", input="y\n")
    assert deleted.exit_code == 0, deleted.output
    assert deleted.stdout.endswith("deleted station MYCO\n")
    assert api.store["stations"] == {}


def test_deleting_a_paired_partner_names_the_command_that_unpairs_it(run: Run, api: Any) -> None:
    station = api.add("stations", as2_id="MYCO", name="My Co")
    partner = api.add("partners", as2_id="big box", name="Big Box", as2_url="https://a.test/")
    api.add("partnerships", station_id=station["id"], partner_id=partner["id"])
    refused = run("partner", "delete", "big box")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: partner 'big box' is used by 1 partnership(s) (MYCO:big box): delete it first: "
        "as2bus partnership delete 'MYCO:big box'\n"
    )
    assert "Delete partner" not in refused.output  # no question whose answer is refused
    assert [r.method for r in api.requests] == ["GET", "GET"]


def test_partnership_enable_disable_delete(run: Run, api: Any) -> None:
    station = api.add("stations", as2_id="MYCO", name="My Co")
    partner = api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    api.add("partnerships", station_id=station["id"], partner_id=partner["id"])
    assert (
        run("partnership", "disable", "MYCO:amazon").stdout == "partnership MYCO:amazon disabled\n"
    )
    assert run("partnership", "enable", "MYCO:amazon").stdout == "partnership MYCO:amazon enabled\n"
    assert api.bodies("PATCH") == [{"enabled": False}, {"enabled": True}]
    assert (
        run("partnership", "delete", "-y", "MYCO:amazon").stdout
        == "deleted partnership MYCO:amazon\n"
    )
    assert api.store["partnerships"] == {}


def authorization(api: Any) -> str | None:
    header: str | None = api.requests[-1].headers.get("authorization")
    return header


def test_the_token_comes_from_the_option(run: Run, api: Any) -> None:
    run("station", "list")
    assert authorization(api) == f"Bearer {TOKEN}"


def test_the_token_comes_from_the_environment(run: Run, api: Any) -> None:
    run("station", "list", token=False, env={"AS2BUS_API_TOKEN": "from-env"})
    assert authorization(api) == "Bearer from-env"


def test_the_token_comes_from_the_data_dir(run: Run, api: Any, tmp_path: Path) -> None:
    (tmp_path / "var" / "secrets").mkdir(parents=True)  # ./var: the tests run in tmp_path
    (tmp_path / "var" / "secrets" / "api-token").write_text("from-file\n")
    run("station", "list", token=False)
    assert authorization(api) == "Bearer from-file"
    other = tmp_path / "elsewhere"
    (other / "secrets").mkdir(parents=True)
    (other / "secrets" / "api-token").write_text("other-file")
    run("station", "list", token=False, env={"AS2BUS_DATA_DIR": str(other)})
    assert authorization(api) == "Bearer other-file"


def test_the_stored_admin_token_is_preferred_to_an_older_api_token(
    run: Run, api: Any, tmp_path: Path
) -> None:
    vault = tmp_path / "var" / "secrets"
    (vault / "tokens").mkdir(parents=True)
    (vault / "api-token").write_text("older\n")
    (vault / "tokens" / "read").write_text("reader\n")
    (vault / "tokens" / "admin").write_text("admin\n")
    run("station", "list", token=False)
    assert authorization(api) == "Bearer admin"


def test_without_any_token_none_is_sent(run: Run, api: Any) -> None:
    run("station", "list", token=False)
    assert authorization(api) is None


def test_keygen_prints_a_usable_master_key_and_a_token_per_scope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = CliRunner().invoke(app, ["keygen"])
    assert result.exit_code == 0
    key_line, tokens_line = result.stdout.splitlines()
    name, _, key = key_line.partition("=")
    assert name == "AS2BUS_MASTER_KEY"
    SecretBox(key)  # raises if malformed
    name, _, tokens = tokens_line.partition("=")
    assert name == "AS2BUS_API_TOKENS"
    by_scope = json.loads(tokens)
    assert sorted(by_scope) == ["admin", "operate", "read"]
    monkeypatch.setenv("AS2BUS_API_TOKENS", tokens)  # as a service reads it
    accepted = api_tokens(ServiceSettings())
    for scope in Scope:
        (token,) = by_scope[scope.label]
        assert len(token) >= 40
        assert accepted.scope_of(token) == scope


def commands(group: Any, path: str = "as2bus") -> Iterator[tuple[str, Any]]:
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from commands(command, f"{path} {name}")


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, command in commands(typer.main.get_command(app)):
        if not command.help:
            missing.append(path)
        missing += [f"{path} {p.name}" for p in command.params if not getattr(p, "help", None)]
    assert missing == []


def test_the_command_tree(run: Run) -> None:
    result = run("--help")
    assert result.exit_code == 0
    for name in ("station", "partner", "partnership", "up", "keygen"):
        assert name in result.stdout
    partner = run("partner", "--help").stdout
    for name in ("create", "list", "show", "update", "delete", "enable", "disable"):
        assert name in partner


def test_partner_async_mdn_networks_are_given_repeated_and_cleared(run: Run, api: Any) -> None:
    result = run("partner", "create", "--as2-id", "onprem", "--name", "On premises",
                 "--url", "https://a.test/", "--async-mdn-network", "10.20.0.0/16",
                 "--async-mdn-network", "fd12::/16")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert api.bodies("POST")[0]["async_mdn_networks"] == ["10.20.0.0/16", "fd12::/16"]
    assert "--async-mdn-network" in run("partner", "update", "--help").stdout

    assert run("partner", "update", "onprem", "--no-async-mdn-networks").exit_code == 0
    both = run("partner", "update", "onprem", "--async-mdn-network", "10.0.0.0/8",
               "--no-async-mdn-networks")  # fmt: skip
    assert both.exit_code == 1
    assert "give --async-mdn-network or --no-async-mdn-networks, not both" in both.stderr
    assert api.bodies("PATCH") == [{"async_mdn_networks": []}]
