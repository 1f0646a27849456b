"""``as2bus user ...``: the web console's users (through console-svc's users API)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from as2bus.cli import output
from as2bus.cli.client import DEFAULT_CONSOLE_URL, CliState, ConfigClient
from as2bus.cli.help import new_app

app = new_app(help="Users of the web console.")

ConsoleUrl = Annotated[
    str,
    typer.Option(envvar="AS2BUS_CONSOLE_URL", help="Base URL of the web console (console-svc)."),
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
            help="Read the password (12 characters or more; not a common one, nor the e-mail "
            "address) from standard input instead of generating one.",
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


COLUMNS: list[output.Column] = [
    ("EMAIL", lambda u: u["email"]),
    ("ROLE", lambda u: u["role"]),
    ("STATUS", lambda u: u["status"]),
    ("SIGNS IN WITH", lambda u: u["sign_in"]),
    ("SINCE", lambda u: u["created_at"][:10]),
]


def _console(ctx: typer.Context, console_url: str) -> tuple[CliState, ConfigClient]:
    state = ctx.ensure_object(CliState)
    state.console_url = console_url
    return state, state.console_client()


@app.command("list")
def list_users(ctx: typer.Context, console_url: ConsoleUrl = DEFAULT_CONSOLE_URL) -> None:
    """List the console's users."""
    state, client = _console(ctx, console_url)
    rows = client.get("/users")
    output.table(rows, COLUMNS, state.json, "No users yet (create one: as2bus user create).")


Email = Annotated[str, typer.Argument(help="The user's e-mail address.")]


def _change(ctx: typer.Context, console_url: str, email: str, body: dict[str, object]) -> None:
    state, client = _console(ctx, console_url)
    user = client.patch(f"/users/{email}", body)
    output.done(f"{user['email']}: {user['role']}, {user['status']}", user, state.json)


@app.command("set-role")
def set_role(
    ctx: typer.Context,
    email: Email,
    role: Annotated[str, typer.Argument(help="admin, operator or viewer.")],
    console_url: ConsoleUrl = DEFAULT_CONSOLE_URL,
) -> None:
    """Give a user another role (the last enabled admin keeps theirs)."""
    _change(ctx, console_url, email, {"role": role})


@app.command("disable")
def disable(
    ctx: typer.Context, email: Email, console_url: ConsoleUrl = DEFAULT_CONSOLE_URL
) -> None:
    """Stop a user from signing in; their sessions end at once."""
    _change(ctx, console_url, email, {"disabled": True})


@app.command("enable")
def enable(ctx: typer.Context, email: Email, console_url: ConsoleUrl = DEFAULT_CONSOLE_URL) -> None:
    """Let a disabled user sign in again."""
    _change(ctx, console_url, email, {"disabled": False})


@app.command("reset-password")
def reset_password(
    ctx: typer.Context,
    email: Email,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the new password (12 characters or more; not a common one, nor the "
            "e-mail address) from standard input instead of generating one.",
        ),
    ] = False,
    console_url: ConsoleUrl = DEFAULT_CONSOLE_URL,
) -> None:
    """Give a user a new password (generated and printed once, unless given); their sessions
    end at once."""
    _, client = _console(ctx, console_url)
    body: dict[str, object] = {}
    if password_stdin:
        body["password"] = sys.stdin.readline().rstrip("\n")
        client.secrets.add(str(body["password"]))
    done = client.post(f"/users/{email}/password", body)
    typer.echo(f"new password set for {done['email']}")
    if done.get("password"):
        typer.echo(f"password (shown this once): {done['password']}")
