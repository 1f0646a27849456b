"""Every command's --help at 80 columns shows every option name whole (the rich layout once
cut them: "--mdn-signing-…", "--allow-invalid-da…"), in words a user knows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import typer
from typer.testing import CliRunner

from as2bus.cli.main import app


def commands(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, [*path, name])


def test_every_option_name_is_whole_at_80_columns() -> None:
    checked = 0
    for path, command in commands(typer.main.get_command(app), []):
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        words = {word.strip(",") for word in result.output.split()}
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            for name in (*param.opts, *getattr(param, "secondary_opts", [])):
                if name.startswith("-"):
                    assert name in words, (
                        f"as2bus {' '.join(path)} --help: {name} cut\n{result.output}"
                    )
                    checked += 1
        assert "…" not in result.output
        assert max(len(line) for line in result.output.splitlines()) <= 80
    assert checked > 250  # every command was walked, not just the root


def test_the_commands_keep_their_groups() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"})
    lines = result.output.splitlines()
    for title in ("Configuration:", "Certificates:",
                  "Messages:", "Running as2bus:", "The web console:"):  # fmt: skip
        assert title in lines
    certificates = lines.index("Certificates:")
    assert lines[certificates + 1].split()[0] == "cert"
    assert lines[certificates + 2].split()[0] == "keystore"


@cache
def every_help() -> dict[str, str]:
    """Each command's --help at 80 columns, by its path ("station create")."""
    helps = {}
    for path, _ in commands(typer.main.get_command(app), []):
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        helps[" ".join(path)] = result.output
    return helps


def test_help_says_what_a_service_is_before_its_internal_name() -> None:
    """A user does not know "config-svc's admin API": the help says "the configuration API",
    with the service's name in parentheses only (as `as2bus up` and errors print it)."""
    for path, text in every_help().items():
        for word in re.findall(r"\S*-svc\S*", text):
            assert word.startswith("("), f"as2bus {path} --help: {word}\n{text}"
        assert "tracklog's" not in text


def test_a_station_is_named_once_as_the_console_names_it() -> None:
    """The console calls a station an AS2 Instance: each of these help screens says so once."""
    helps = every_help()
    for command in ("station", "station create", "station list"):
        assert " ".join(helps[command].split()).count("AS2 Instance") == 1, helps[command]


def test_no_word_is_broken_at_its_hyphen() -> None:
    """At 80 columns "cert-svc", "--mdn-signature" or "application/edi-x12" stay on one line:
    cut at the hyphen they read as two words, and a copied one fails."""
    for path, text in every_help().items():
        broken = re.search(r"\S+\w-\n\s+\w\S*", text)
        assert broken is None, f"as2bus {path} --help: {broken and broken.group()!r}"
