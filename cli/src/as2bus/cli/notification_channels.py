"""``as2bus notification channel ...``: where notifications go, a webhook or e-mail.

Secrets (the webhook's HMAC secret, the SMTP password) are asked for with hidden input when
they are needed and not given, never printed, and kept by config-svc on an update that leaves
them out. ``test`` sends a test notice through notify-svc.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from as2bus.cli import ask, output
from as2bus.cli.client import CliError, CliState, ConfigClient
from as2bus.cli.help import new_app
from as2bus.cli.notify_api import notify_client
from as2bus.cli.stations import Yes

app = new_app(help="Notification channels: a webhook (signed JSON) or e-mail (SMTP).")
PATH = "/notification-channels"

Ref = Annotated[str, typer.Argument(help="The channel's name or id.")]
Webhook = Annotated[str | None, typer.Option("--webhook", help="POST notices to this URL.")]
Secret = Annotated[
    str | None,
    typer.Option("--secret", envvar="AS2BUS_WEBHOOK_SECRET", show_default=False,
                 help="The webhook's HMAC secret (16+ characters); asked for when left out."),
]  # fmt: skip
SmtpHost = Annotated[
    str | None, typer.Option("--smtp-host", help="Send e-mail through this server.")
]
SmtpPort = Annotated[int | None, typer.Option("--smtp-port", help="Default 587.")]
Security = Annotated[
    str | None,
    typer.Option("--security", help="starttls (default), tls, or none (a local relay, no login)."),
]
Username = Annotated[str | None, typer.Option("--username", help="SMTP login.")]
Password = Annotated[
    str | None,
    typer.Option("--password", envvar="AS2BUS_SMTP_PASSWORD", show_default=False,
                 help="SMTP password; asked for when a --username is given without one."),
]  # fmt: skip
Sender = Annotated[str | None, typer.Option("--from", help="The From address.")]
To = Annotated[list[str] | None, typer.Option("--to", help="A recipient (repeat for more).")]
CaFile = Annotated[
    Path | None, typer.Option("--ca-file", help="PEM CA certificates to trust for the SMTP server.")
]
Name = Annotated[str | None, typer.Option("--name", help="A new name.")]
Enabled = Annotated[
    bool | None,
    typer.Option("--enable/--disable", show_default=False, help="Send through it or not."),
]

COLUMNS: list[output.Column] = [
    ("NAME", lambda c: c["name"]),
    ("TYPE", lambda c: c["target"]["type"]),
    ("WHERE", lambda c: c["target"].get("url") or _mail_where(c["target"])),
    ("ENABLED", lambda c: c.get("enabled")),
    ("ID", lambda c: c["id"]),
]


def _mail_where(target: dict[str, Any]) -> str:
    return f"{', '.join(target['recipients'])} via {target['host']}:{target['port']}"


def resolve_channel(client: ConfigClient, ref: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = client.get(f"{PATH}/{uuid.UUID(ref)}")
        return found
    except ValueError:
        pass
    for channel in client.get(PATH):
        if channel["name"] == ref:
            return dict(channel)
    raise CliError(f"no notification channel named {ref!r} (as2bus notification channel list)")


def build_target(params: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``target`` body from the options, on top of the current one; None: nothing given."""
    webhook = params.get("webhook") is not None
    email_opts = ("smtp_host", "smtp_port", "security", "username", "password", "sender", "to",
                  "ca_file")  # fmt: skip
    email = any(params.get(k) for k in email_opts)
    if webhook and email:
        raise CliError("give --webhook, or the e-mail options (--smtp-host ...), not both")
    kind = "webhook" if webhook else "email" if email else None
    if kind is None:
        if params.get("secret") is None:
            return None
        kind = "webhook"
    base = dict(current) if current and current.get("type") == kind else {"type": kind}
    for flag in ("secret_set", "password_set"):
        base.pop(flag, None)
    if kind == "webhook":
        return _webhook(params, base, current)
    return _email(params, base, current)


def _webhook(params: dict[str, Any], base: dict[str, Any], current: Any) -> dict[str, Any]:
    if params.get("webhook"):
        base["url"] = params["webhook"]
    if "url" not in base:
        raise CliError("--webhook URL is required for a webhook channel")
    secret = params.get("secret")
    if secret is None and not (current or {}).get("secret_set"):
        secret = ask.secret("HMAC secret for the webhook (16+ characters)")
    if secret is not None:
        base["secret"] = secret
    return base


def _email(params: dict[str, Any], base: dict[str, Any], current: Any) -> dict[str, Any]:
    renames = {"smtp_host": "host", "smtp_port": "port", "security": "security",
               "username": "username", "sender": "sender", "to": "recipients"}  # fmt: skip
    for option, field in renames.items():
        if params.get(option):
            base[field] = params[option]
    if params.get("ca_file") is not None:
        base["ca_bundle_pem"] = Path(params["ca_file"]).read_text()
    missing = [f"--{o.replace('_', '-')}" for o in ("smtp_host", "sender", "to")
               if not base.get(renames[o])]  # fmt: skip
    if missing:
        raise CliError(
            f"an e-mail channel needs {', '.join(missing).replace('--sender', '--from')}"
        )
    password = params.get("password")
    same_user = (current or {}).get("username") == base.get("username")
    kept = same_user and (current or {}).get("password_set")
    if base.get("username") and password is None and not kept:
        password = ask.secret(f"SMTP password for {base['username']}")
    if password is not None:
        base["password"] = password
    return base


def _secrets(body: dict[str, Any] | None) -> set[str]:
    return {str(body[k]) for k in ("secret", "password") if body and body.get(k)}


@app.command("create")
def create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="A name for the channel.")],
    webhook: Webhook = None, secret: Secret = None, smtp_host: SmtpHost = None,
    smtp_port: SmtpPort = None, security: Security = None, username: Username = None,
    password: Password = None, sender: Sender = None, to: To = None, ca_file: CaFile = None,
) -> None:  # fmt: skip
    """Create a webhook (--webhook URL) or e-mail (--smtp-host, --from, --to) channel."""
    state: CliState = ctx.obj
    client = state.client()
    target = build_target(dict(locals()), None)
    if target is None:
        raise CliError("give --webhook URL, or --smtp-host, --from and --to for e-mail")
    client.secrets |= _secrets(target)
    created = client.post(PATH, {"name": name, "target": target})
    output.done(f"created channel {name} ({created['id']})", created, state.json)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the notification channels."""
    state: CliState = ctx.obj
    hint = "No channels (create one: as2bus notification channel create NAME --webhook URL)."
    output.table(state.client().get(PATH), COLUMNS, state.json, hint)


@app.command("show")
def show(ctx: typer.Context, ref: Ref) -> None:
    """Show one channel (secrets only as *_set flags)."""
    state: CliState = ctx.obj
    output.show(resolve_channel(state.client(), ref), state.json)


@app.command("update")
def update(
    ctx: typer.Context, ref: Ref, name: Name = None, enabled: Enabled = None,
    webhook: Webhook = None, secret: Secret = None, smtp_host: SmtpHost = None,
    smtp_port: SmtpPort = None, security: Security = None, username: Username = None,
    password: Password = None, sender: Sender = None, to: To = None, ca_file: CaFile = None,
) -> None:  # fmt: skip
    """Change a channel: only the options given change; stored secrets are kept."""
    state: CliState = ctx.obj
    client = state.client()
    current = resolve_channel(client, ref)
    body: dict[str, Any] = {
        k: v for k, v in (("name", name), ("enabled", enabled)) if v is not None
    }
    target = build_target(dict(locals()), current["target"])
    if target is not None:
        body["target"] = target
        client.secrets |= _secrets(target)
    if not body:
        raise CliError(
            "nothing to change: give an option (as2bus notification channel update --help)"
        )
    changed = client.patch(f"{PATH}/{current['id']}", body)
    output.done(f"updated channel {changed['name']}", changed, state.json)


@app.command("delete")
def delete(ctx: typer.Context, ref: Ref, yes: Yes = False) -> None:
    """Delete a channel (no rule may still use it)."""
    state: CliState = ctx.obj
    client = state.client()
    channel = resolve_channel(client, ref)
    if not yes:
        typer.confirm(f"Delete notification channel {channel['name']}?", abort=True)
    client.delete(f"{PATH}/{channel['id']}")
    output.done(f"deleted channel {channel['name']}", {"deleted": channel["id"]}, state.json)


@app.command("test")
def test(ctx: typer.Context, ref: Ref) -> None:
    """Send a test notice through the channel now and say if it went."""
    state: CliState = ctx.obj
    channel = resolve_channel(state.client(), ref)
    result = notify_client(ctx).post(f"/channels/{channel['id']}/test", {})
    output.done(f"test notice sent through channel {channel['name']}", result, state.json)
