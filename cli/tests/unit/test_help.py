"""Every command's --help at 80 columns shows every option name whole (the rich layout once
cut them: "--mdn-signing-…", "--allow-invalid-da…")."""

from __future__ import annotations

from collections.abc import Iterator
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
    for title in ("Configuration (through config-svc):", "Certificates (through cert-svc):",
                  "Messages:", "Running as2bus:", "The web console:"):  # fmt: skip
        assert title in lines
    certificates = lines.index("Certificates (through cert-svc):")
    assert lines[certificates + 1].split()[0] == "cert"
    assert lines[certificates + 2].split()[0] == "keystore"
