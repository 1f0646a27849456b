"""What people and scripts see: tables, key: value lines, JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from as2bus.cli.output import render_record, render_table

Run = Callable[..., Any]


def test_a_table_aligns_its_columns() -> None:
    rows: list[dict[str, Any]] = [{"a": "x", "b": True}, {"a": "longer", "b": None}]
    text = render_table(rows, [("A", lambda r: r["a"]), ("B", lambda r: r["b"])])
    assert text.splitlines() == ["A       B", "x       yes", "longer  -"]


def test_a_record_flattens_nested_settings() -> None:
    text = render_record({"name": "Amazon", "http_auth": {"type": "basic", "password_set": True}})
    assert text.splitlines() == [
        "name:                   Amazon",
        "http_auth.type:         basic",
        "http_auth.password_set: yes",
    ]


def test_station_list_is_a_table(run: Run, api: Any) -> None:
    api.add("stations", as2_id="MYCO", name="My Co", email="edi@myco.example")
    api.add("stations", as2_id="OTHER", name="Other")
    result = run("station", "list")
    assert result.exit_code == 0, result.output
    header, first, second = result.stdout.splitlines()
    assert header.split() == [
        "AS2",
        "ID",
        "NAME",
        "KEY",
        "ALIAS",
        "EMAIL",
        "MDN",
        "SIGNING",
        "INCOMING",
    ]
    assert first.split()[:4] == ["MYCO", "My", "Co", "myco"]
    assert "edi@myco.example" in first
    assert second.index("Other") == first.index("My Co")  # aligned


def test_an_empty_list_says_how_to_create_one(run: Run) -> None:
    result = run("partner", "list")
    assert result.exit_code == 0
    assert "No partners yet" in result.stdout
    assert "as2bus partner create" in result.stdout


def test_partner_list_shows_url_state_algorithms_and_mdn(run: Run, api: Any) -> None:
    api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://as2.example.com/as2")
    api.add(
        "partners",
        as2_id="acme",
        name="Acme",
        as2_url="http://acme.test/as2",
        enabled=False,
        encryption_alg=None,
        mdn_mode="none",
        http_auth={"type": "basic", "username": "u", "password_set": True},
    )
    lines = run("partner", "list").stdout.splitlines()
    assert lines[0].split() == [
        "AS2",
        "ID",
        "NAME",
        "URL",
        "ENABLED",
        "ENCRYPTION",
        "SIGNING",
        "MDN",
        "AUTH",
    ]
    assert lines[1].split() == [
        "amazon",
        "Amazon",
        "https://as2.example.com/as2",
        "yes",
        "aes256-cbc",
        "sha256",
        "sync,",
        "signature",
        "required",
        "none",
    ]
    assert lines[2].split() == [
        "acme",
        "Acme",
        "http://acme.test/as2",
        "no",
        "none",
        "sha256",
        "none",
        "basic",
    ]


def test_show_prints_key_value_lines(run: Run, api: Any) -> None:
    station = api.add("stations", as2_id="MYCO", name="My Co")
    result = run("station", "show", "MYCO")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"id:                       {station['id']}" in lines
    assert "as2_id:                   MYCO" in lines
    assert "accepted_encryption_algs: aes256-cbc" in lines
    assert "email:                    -" in lines


def test_json_prints_what_the_api_returned(run: Run, api: Any) -> None:
    station = api.add("stations", as2_id="MYCO", name="My Co")
    listed = run("--json", "station", "list")
    assert json.loads(listed.stdout) == [station]
    shown = run("--json", "station", "show", "MYCO")
    assert json.loads(shown.stdout) == station
    empty = run("--json", "partner", "list")
    assert json.loads(empty.stdout) == []


def test_create_prints_the_new_entry(run: Run, api: Any) -> None:
    result = run(
        "station",
        "create",
        "--as2-id",
        "MYCO",
        "--name",
        "My Co",
        "--accept-encryption",
        "aes256-cbc",
        "--accept-encryption",
        "3des",
        "--incoming-encoding",
        "base64",
    )
    assert result.exit_code == 0, result.output
    assert api.bodies("POST") == [
        {
            "as2_id": "MYCO",
            "name": "My Co",
            "accepted_encryption_algs": ["aes256-cbc", "3des"],
            "incoming_encoding": "base64",
        }
    ]
    assert "as2_id:                   MYCO" in result.stdout.splitlines()


def test_actions_print_a_sentence_or_json(run: Run, api: Any) -> None:
    partner = api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    assert run("partner", "disable", "amazon").stdout == "partner amazon disabled\n"
    assert json.loads(run("--json", "partner", "enable", "amazon").stdout)["enabled"] is True
    deleted = run("--json", "partner", "delete", "amazon", "--yes")
    assert json.loads(deleted.stdout) == {"deleted": partner["id"]}
