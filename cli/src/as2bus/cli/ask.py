"""Asking for a secret: hidden at a terminal, one line of standard input otherwise.

At a terminal the secret is typed without echo (and twice where a mistake would lock a file
away). A script pipes it in: then Python's ``getpass`` would warn that it cannot hide the
input and print the prompt without a line break, so the line is read as it is, no prompt.
"""

from __future__ import annotations

import sys

import typer

from as2bus.cli.client import CliError


def at_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def secret(prompt: str, *, confirm: bool = False) -> str:
    """The secret the user types (``prompt``, e.g. "Keystore password") or pipes in."""
    if at_terminal():
        return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))
    line = sys.stdin.readline() if sys.stdin is not None else ""
    value = line.rstrip("\r\n")
    if not value:
        raise CliError(
            f"{prompt} needed: type it at a terminal, or give it as the first line of "
            "standard input"
        )
    return value
