"""``as2bus user ...``: the web console's users (through console-svc's users API)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from as2bus.cli.client import DEFAULT_CONSOLE_URL, CliState

app = typer.Typer(help="Users of the web console (console-svc).")

ConsoleUrl = Annotated[
    str,
    typer.Option(envvar="AS2BUS_CONSOLE_URL", help="Base URL of console-svc."),
]


@app.command("create")
def create(
    ctx: typer.Context,
    email: Annotated[
        str, typer.Argument(help="The user's e-mail address (what they sign in with).")
    ],
    role: Annotated[
        str, typer.Option(help="admin (everything), operator (send, resend, view) or viewer.")
    ] = "viewer",
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password (12 characters or more) from standard input instead of "
            "generating one.",
        ),
    ] = False,
    sso_only: Annotated[
        bool, typer.Option("--sso-only", help="No password: signs in through the proxy only.")
    ] = False,
    console_url: ConsoleUrl = DEFAULT_CONSOLE_URL,
) -> None:
    """Create a console user. Without --password-stdin a password is generated and printed
    once: hand it to the user."""
    state = ctx.ensure_object(CliState)
    state.console_url = console_url
    body: dict[str, object] = {"email": email, "role": role, "sso_only": sso_only}
    if password_stdin:
        body["password"] = sys.stdin.readline().rstrip("\n")
    client = state.console_client()
    if isinstance(body.get("password"), str):
        client.secrets.add(str(body["password"]))
    made = client.post("/users", body)
    typer.echo(f"created {made['email']} ({made['role']})")
    if made.get("password"):
        typer.echo(f"password (shown this once): {made['password']}")
