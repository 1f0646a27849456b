"""``as2bus notification ...``: rules that tell a person when something needs them, and the
channels they are told through (``notification channel ...``). Kept by config-svc; notify-svc
applies them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from as2bus.cli import notification_channels, output
from as2bus.cli.client import CliError, CliState, ConfigClient
from as2bus.cli.help import new_app
from as2bus.cli.notify_api import DEFAULT_NOTIFY_URL, URL_KEY
from as2bus.cli.stations import Yes

app = new_app(help="Notifications: rules (what needs a person) and channels (how to tell).")
rules = new_app(help="Notification rules: what is worth telling, after how long, to whom.")
app.add_typer(rules, name="rule")
app.add_typer(notification_channels.app, name="channel")
PATH = "/notification-rules"
KINDS = ("partner-unreachable", "message-failed", "mdn-overdue", "certificate-expiring")

Ref = Annotated[str, typer.Argument(help="The rule's name or id.")]
Kind = Annotated[str | None, typer.Option("--kind", help=f"One of: {', '.join(KINDS)}.")]
Channels = Annotated[
    list[str] | None,
    typer.Option("--channel", help="A channel (name or id) to tell; repeat for more."),
]
Minutes = Annotated[
    float | None,
    typer.Option("--minutes", help="How long the trouble lasts before anyone is told "
                 "(default 15 for partner-unreachable, else 0: at once)."),
]  # fmt: skip
Repeat = Annotated[
    float | None,
    typer.Option("--repeat-minutes", help="At most one summary of an open incident per this "
                 "many minutes (default 60)."),
]  # fmt: skip

COLUMNS: list[output.Column] = [
    ("NAME", lambda r: r["name"]),
    ("KIND", lambda r: r["kind"]),
    ("MINUTES", lambda r: f"{r['minutes']:g}"),
    ("REPEAT", lambda r: f"{r['repeat_minutes']:g}"),
    ("CHANNELS", lambda r: len(r["channel_ids"])),
    ("ENABLED", lambda r: r.get("enabled")),
    ("ID", lambda r: r["id"]),
]


@app.callback()
def notification(
    ctx: typer.Context,
    notify_url: Annotated[
        str,
        typer.Option(
            envvar="AS2BUS_NOTIFY_URL", help="Base URL of the notification API (notify-svc)."
        ),
    ] = DEFAULT_NOTIFY_URL,
) -> None:
    """Rules and channels (through config-svc); channel tests through notify-svc."""
    ctx.meta[URL_KEY] = notify_url


def resolve_rule(client: ConfigClient, ref: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = client.get(f"{PATH}/{uuid.UUID(ref)}")
        return found
    except ValueError:
        pass
    for rule in client.get(PATH):
        if rule["name"] == ref:
            return dict(rule)
    raise CliError(f"no notification rule named {ref!r} (as2bus notification rule list)")


def _channel_ids(client: ConfigClient, refs: list[str]) -> list[str]:
    return [notification_channels.resolve_channel(client, r)["id"] for r in refs]


def _fields(
    client: ConfigClient, kind: Any, channels: Any, minutes: Any, repeat: Any
) -> dict[str, Any]:
    if kind is not None and kind not in KINDS:
        raise CliError(f"--kind must be one of {', '.join(KINDS)}")
    given = {"kind": kind, "minutes": minutes, "repeat_minutes": repeat}
    body = {k: v for k, v in given.items() if v is not None}
    if channels:
        body["channel_ids"] = _channel_ids(client, channels)
    return body


@rules.command("create")
def create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="A name for the rule.")],
    kind: Kind = None, channel: Channels = None, minutes: Minutes = None,
    repeat_minutes: Repeat = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
) -> None:  # fmt: skip
    """Create a rule: --kind and at least one --channel."""
    state: CliState = ctx.obj
    client = state.client()
    if kind is None or not channel:
        raise CliError("a rule needs --kind and at least one --channel")
    body = {"name": name, "enabled": not disabled,
            **_fields(client, kind, channel, minutes, repeat_minutes)}  # fmt: skip
    created = client.post(PATH, body)
    output.done(f"created rule {name} ({created['id']})", created, state.json)


@rules.command("list")
def list_(ctx: typer.Context) -> None:
    """List the notification rules."""
    state: CliState = ctx.obj
    hint = "No rules (create one: as2bus notification rule create NAME --kind K --channel C)."
    output.table(state.client().get(PATH), COLUMNS, state.json, hint)


@rules.command("show")
def show(ctx: typer.Context, ref: Ref) -> None:
    """Show one rule."""
    state: CliState = ctx.obj
    output.show(resolve_rule(state.client(), ref), state.json)


@rules.command("update")
def update(
    ctx: typer.Context, ref: Ref,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    kind: Kind = None, channel: Channels = None, minutes: Minutes = None,
    repeat_minutes: Repeat = None,
) -> None:  # fmt: skip
    """Change a rule: only the options given change (--channel replaces the channel list)."""
    state: CliState = ctx.obj
    client = state.client()
    current = resolve_rule(client, ref)
    body = _fields(client, kind, channel, minutes, repeat_minutes)
    if name is not None:
        body["name"] = name
    if not body:
        raise CliError("nothing to change: give an option (as2bus notification rule update --help)")
    changed = client.patch(f"{PATH}/{current['id']}", body)
    output.done(f"updated rule {changed['name']}", changed, state.json)


def _set_enabled(ctx: typer.Context, ref: str, enabled: bool) -> None:
    state: CliState = ctx.obj
    client = state.client()
    rule = resolve_rule(client, ref)
    changed = client.patch(f"{PATH}/{rule['id']}", {"enabled": enabled})
    output.done(f"rule {rule['name']} {'enabled' if enabled else 'disabled'}", changed, state.json)


@rules.command("enable")
def enable(ctx: typer.Context, ref: Ref) -> None:
    """Enable a rule."""
    _set_enabled(ctx, ref, True)


@rules.command("disable")
def disable(ctx: typer.Context, ref: Ref) -> None:
    """Disable a rule: its open incidents are dropped without a notice."""
    _set_enabled(ctx, ref, False)


@rules.command("delete")
def delete(ctx: typer.Context, ref: Ref, yes: Yes = False) -> None:
    """Delete a rule."""
    state: CliState = ctx.obj
    client = state.client()
    rule = resolve_rule(client, ref)
    if not yes:
        typer.confirm(f"Delete notification rule {rule['name']}?", abort=True)
    client.delete(f"{PATH}/{rule['id']}")
    output.done(f"deleted rule {rule['name']}", {"deleted": rule["id"]}, state.json)
