"""``as2bus station ...``: our own AS2 identities."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from as2bus.as2.algorithms import TransferEncoding
from as2bus.cli import output
from as2bus.cli.client import CliError, CliState
from as2bus.cli.help import new_app
from as2bus.cli.refs import refuse_while_paired, resolve

app = new_app(
    help="Stations: our own AS2 identities (who we are to partners). The web console calls "
    "them AS2 Instances."
)

Ref = Annotated[str, typer.Argument(help="The station's AS2 ID or its id (UUID).")]
As2Id = Annotated[str, typer.Option("--as2-id", help="The AS2 ID partners address us by.")]
Name = Annotated[str, typer.Option("--name", help="A display name.")]
NewAs2Id = Annotated[str | None, typer.Option("--as2-id", help="A new AS2 ID.")]
NewName = Annotated[str | None, typer.Option("--name", help="A new display name.")]
KeyAlias = Annotated[
    str | None,
    typer.Option(
        help="Alias of our private key and certificate. Default: the AS2 ID in lower case "
        "(DISTCO: distco), any character but letters, digits and . _ @ - made _."
    ),
]
Email = Annotated[
    str | None,
    typer.Option(
        help="Our e-mail address, sent to partners as Disposition-Notification-To when a "
        "message asks for an MDN (without it: as2bus). The MDN still comes back over HTTP."
    ),
]
MdnSigning = Annotated[
    str | None, typer.Option(help="Algorithm we sign MDNs with (sha1, sha256, ...).")
]
AcceptEncryption = Annotated[
    list[str] | None,
    typer.Option(
        "--accept-encryption",
        help="An encryption algorithm we accept (repeatable; default: all of them).",
    ),
]
AcceptSigning = Annotated[
    list[str] | None,
    typer.Option(
        "--accept-signing", help="A signing algorithm we accept (repeatable; default: all)."
    ),
]
Incoming = Annotated[
    TransferEncoding | None,
    typer.Option(help="Content-Transfer-Encoding we expect on incoming messages."),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

COLUMNS: list[output.Column] = [
    ("AS2 ID", lambda s: s["as2_id"]),
    ("NAME", lambda s: s["name"]),
    ("KEY ALIAS", lambda s: s["private_key_alias"]),
    ("EMAIL", lambda s: s.get("email")),
    ("MDN SIGNING", lambda s: s.get("mdn_signing_alg")),
    ("INCOMING", lambda s: s.get("incoming_encoding")),
]


def _fields(
    key_alias: str | None,
    email: str | None,
    mdn_signing: str | None,
    accept_encryption: list[str] | None,
    accept_signing: list[str] | None,
    incoming: TransferEncoding | None,
) -> dict[str, Any]:
    given = {
        "private_key_alias": key_alias,
        "email": email,
        "mdn_signing_alg": mdn_signing,
        "accepted_encryption_algs": accept_encryption or None,
        "accepted_signing_algs": accept_signing or None,
        "incoming_encoding": incoming.value if incoming else None,
    }
    return {k: v for k, v in given.items() if v is not None}


@app.command("create")
def create(
    ctx: typer.Context,
    as2_id: As2Id,
    name: Name,
    private_key_alias: KeyAlias = None,
    email: Email = None,
    mdn_signing_alg: MdnSigning = None,
    accept_encryption: AcceptEncryption = None,
    accept_signing: AcceptSigning = None,
    incoming_encoding: Incoming = None,
) -> None:
    """Create a station.

    A station is what the web console calls an AS2 Instance.
    """
    state: CliState = ctx.obj
    body = {"as2_id": as2_id, "name": name}
    body |= _fields(
        private_key_alias,
        email,
        mdn_signing_alg,
        accept_encryption,
        accept_signing,
        incoming_encoding,
    )
    output.show(state.client().post("/stations", body), state.json)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the stations.

    A station is what the web console calls an AS2 Instance.
    """
    state: CliState = ctx.obj
    rows = state.client().get("/stations")
    output.table(rows, COLUMNS, state.json, "No stations yet (create one: as2bus station create).")


@app.command("show")
def show(ctx: typer.Context, ref: Ref) -> None:
    """Show one station."""
    state: CliState = ctx.obj
    output.show(resolve(state.client(), "station", ref), state.json)


@app.command("update")
def update(
    ctx: typer.Context,
    ref: Ref,
    as2_id: NewAs2Id = None,
    name: NewName = None,
    private_key_alias: KeyAlias = None,
    email: Email = None,
    mdn_signing_alg: MdnSigning = None,
    accept_encryption: AcceptEncryption = None,
    accept_signing: AcceptSigning = None,
    incoming_encoding: Incoming = None,
) -> None:
    """Change a station; only the options given change."""
    state: CliState = ctx.obj
    client = state.client()
    body = {k: v for k, v in {"as2_id": as2_id, "name": name}.items() if v is not None}
    body |= _fields(
        private_key_alias,
        email,
        mdn_signing_alg,
        accept_encryption,
        accept_signing,
        incoming_encoding,
    )
    if not body:
        raise CliError("give at least one option to change (see: as2bus station update --help)")
    station = resolve(client, "station", ref)
    output.show(client.patch(f"/stations/{station['id']}", body), state.json)


@app.command("delete")
def delete(ctx: typer.Context, ref: Ref, yes: Yes = False) -> None:
    """Delete a station (refused while partnerships use it)."""
    state: CliState = ctx.obj
    client = state.client()
    station = resolve(client, "station", ref)
    refuse_while_paired(client, "station", station)
    if not yes:
        typer.confirm(f"Delete station {station['as2_id']!r}?", abort=True)
    client.delete(f"/stations/{station['id']}")
    output.done(f"deleted station {station['as2_id']}", {"deleted": station["id"]}, state.json)
