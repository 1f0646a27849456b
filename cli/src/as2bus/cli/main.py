"""The ``as2bus`` command: global options, the sub-commands, and error reporting."""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from as2bus.cli import (
    certs,
    inbox,
    keystores,
    notifications,
    partners,
    partnerships,
    send,
    stack,
    stations,
    track,
    users,
)
from as2bus.cli.client import DEFAULT_CERT_URL, DEFAULT_CONFIG_URL, CliError, CliState
from as2bus.cli.help import format_commands_by_panel, new_app
from as2bus.shared.crypto import generate_master_key


class _Group(TyperGroup):
    """Reports a `CliError` as ``error: ...`` lines on stderr with exit code 1, no traceback."""

    def invoke(self, ctx: Any) -> Any:  # Any: typer vendors its own click since 0.2x
        try:
            return super().invoke(ctx)
        except CliError as err:
            for line in err.lines:
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(1) from None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        format_commands_by_panel(self, ctx, formatter)


app = new_app(
    name="as2bus",
    cls=_Group,
    help="Manage an as2bus AS2 gateway, or run one locally (as2bus up).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
CONFIG, RUN = "Configuration", "Running as2bus"
CERTS, MESSAGES = "Certificates", "Messages"
app.add_typer(stations.app, name="station", rich_help_panel=CONFIG)
app.add_typer(partners.app, name="partner", rich_help_panel=CONFIG)
app.add_typer(partnerships.app, name="partnership", rich_help_panel=CONFIG)
app.add_typer(notifications.app, name="notification", rich_help_panel=CONFIG)
app.add_typer(certs.app, name="cert", rich_help_panel=CERTS)
app.add_typer(keystores.app, name="keystore", rich_help_panel=CERTS)
certs.app.command("export")(keystores.export)
app.command("up", rich_help_panel=RUN)(stack.up)
app.command("inbox", rich_help_panel=MESSAGES)(inbox.inbox_command)
app.command("send", rich_help_panel=MESSAGES)(send.send)
app.add_typer(track.app, name="track", rich_help_panel=MESSAGES)
app.add_typer(users.app, name="user", rich_help_panel="The web console")


@app.callback()
def root(
    ctx: typer.Context,
    config_url: Annotated[
        str,
        typer.Option(
            envvar="AS2BUS_CONFIG_URL", help="Base URL of the configuration API (config-svc)."
        ),
    ] = DEFAULT_CONFIG_URL,
    cert_url: Annotated[
        str,
        typer.Option(envvar="AS2BUS_CERT_URL", help="Base URL of the certificate API (cert-svc)."),
    ] = DEFAULT_CERT_URL,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="AS2BUS_API_TOKEN",
            show_default=False,
            help="API token. Default: the admin token <data dir>/secrets/tokens/admin written by "
            "'as2bus up' (or secrets/api-token of an older data dir; data dir: AS2BUS_DATA_DIR "
            "or ./var).",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON (for scripts) instead of tables.")
    ] = False,
) -> None:
    """Manage an as2bus AS2 gateway, or run one locally (as2bus up)."""
    state = ctx.ensure_object(CliState)  # tests pass one in, with a mock transport
    state.config_url, state.token, state.json = config_url, token, json_output
    state.cert_url = cert_url
    ctx.call_on_close(state.close)


@app.command("keygen", rich_help_panel=RUN)
def keygen() -> None:
    """Print a fresh master key and one API token per scope (read, operate, admin), as env
    lines for a deployment's Secret. Give each client only the token of the scope it needs."""
    typer.echo(f"AS2BUS_MASTER_KEY={generate_master_key()}")
    tokens = {scope: [secrets.token_urlsafe(32)] for scope in ("read", "operate", "admin")}
    typer.echo(f"AS2BUS_API_TOKENS={json.dumps(tokens, separators=(',', ':'))}")
