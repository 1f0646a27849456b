"""``as2bus partnership ...``: which station trades with which partner."""

from __future__ import annotations

from typing import Annotated

import typer

from as2bus.cli import output
from as2bus.cli.client import CliState
from as2bus.cli.help import new_app
from as2bus.cli.refs import resolve, resolve_partnership
from as2bus.cli.stations import Yes

app = new_app(help="Partnerships: a station paired with a partner, so they can trade.")

Ref = Annotated[
    str, typer.Argument(help="The partnership's id (UUID) or STATION:PARTNER (their AS2 IDs).")
]
Station = Annotated[str, typer.Option("--station", help="The station's AS2 ID or id.")]
Partner = Annotated[str, typer.Option("--partner", help="The partner's AS2 ID or id.")]
StationFilter = Annotated[
    str | None, typer.Option("--station", help="Only this station's (AS2 ID or id).")
]
PartnerFilter = Annotated[
    str | None, typer.Option("--partner", help="Only this partner's (AS2 ID or id).")
]
Disabled = Annotated[bool, typer.Option("--disabled", help="Create it disabled.")]

COLUMNS: list[output.Column] = [
    ("STATION", lambda p: p["station_as2_id"]),
    ("PARTNER", lambda p: p["partner_as2_id"]),
    ("ENABLED", lambda p: p.get("enabled")),
    ("ID", lambda p: p["id"]),
]


def _name(link: dict[str, str]) -> str:
    return f"{link['station_as2_id']}:{link['partner_as2_id']}"


@app.command("create")
def create(
    ctx: typer.Context, station: Station, partner: Partner, disabled: Disabled = False
) -> None:
    """Pair a station with a partner (the partner must be enabled)."""
    state: CliState = ctx.obj
    client = state.client()
    body = {
        "station_id": resolve(client, "station", station)["id"],
        "partner_id": resolve(client, "partner", partner)["id"],
        "enabled": not disabled,
    }
    output.show(client.post("/partnerships", body), state.json)


@app.command("list")
def list_(ctx: typer.Context, station: StationFilter = None, partner: PartnerFilter = None) -> None:
    """List the partnerships, optionally of one station and/or one partner."""
    state: CliState = ctx.obj
    client = state.client()
    params = {}
    if station is not None:
        params["station_id"] = resolve(client, "station", station)["id"]
    if partner is not None:
        params["partner_id"] = resolve(client, "partner", partner)["id"]
    rows = client.get("/partnerships", params=params)
    hint = "No partnerships (create one: as2bus partnership create --station S --partner P)."
    output.table(rows, COLUMNS, state.json, hint)


@app.command("show")
def show(ctx: typer.Context, ref: Ref) -> None:
    """Show one partnership."""
    state: CliState = ctx.obj
    output.show(resolve_partnership(state.client(), ref), state.json)


def _set_enabled(ctx: typer.Context, ref: str, enabled: bool) -> None:
    state: CliState = ctx.obj
    client = state.client()
    link = resolve_partnership(client, ref)
    result = client.patch(f"/partnerships/{link['id']}", {"enabled": enabled})
    word = "enabled" if enabled else "disabled"
    output.done(f"partnership {_name(link)} {word}", result, state.json)


@app.command("enable")
def enable(ctx: typer.Context, ref: Ref) -> None:
    """Enable a partnership (its partner must be enabled)."""
    _set_enabled(ctx, ref, True)


@app.command("disable")
def disable(ctx: typer.Context, ref: Ref) -> None:
    """Disable a partnership: its station and partner stop trading."""
    _set_enabled(ctx, ref, False)


@app.command("delete")
def delete(ctx: typer.Context, ref: Ref, yes: Yes = False) -> None:
    """Delete a partnership."""
    state: CliState = ctx.obj
    client = state.client()
    link = resolve_partnership(client, ref)
    if not yes:
        typer.confirm(f"Delete partnership {_name(link)}?", abort=True)
    client.delete(f"/partnerships/{link['id']}")
    output.done(f"deleted partnership {_name(link)}", {"deleted": link["id"]}, state.json)
