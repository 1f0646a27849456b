"""``as2bus keystore ...`` and ``as2bus cert export``: a partnership's keys and certificates."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from as2bus.cli import output
from as2bus.cli.certs import COLUMNS as CERT_COLUMNS
from as2bus.cli.certs import read_file, warn, write_new
from as2bus.cli.client import CliError, CliState, ConfigClient

app = typer.Typer(help="Keystores: a partnership's key and certificates, with an export password.")

Ref = Annotated[str, typer.Argument(help="The keystore's id, or STATION:PARTNER (AS2 IDs).")]
Station = Annotated[str, typer.Option("--station", help="Our station's AS2 ID.")]
Partner = Annotated[str, typer.Option("--partner", help="The partner's AS2 ID.")]
Password = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="AS2BUS_KEYSTORE_PASSWORD",
        show_default=False,
        help="Protects exports; cannot be changed later (asked for when not given).",
    ),
]

COLUMNS: list[output.Column] = [
    ("STATION", lambda k: k["station_as2_id"]),
    ("PARTNER", lambda k: k["partner_as2_id"]),
    ("KEY ALIAS", lambda k: k["private_key_alias"]),
    ("PARTNER ALIAS", lambda k: k["partner_cert_alias"]),
    ("OWN CERTS", lambda k: len(k["own_certificates"])),
    ("PARTNER CERTS", lambda k: len(k["partner_certificates"])),
    ("ID", lambda k: k["id"]),
]


def resolve(client: ConfigClient, ref: str) -> dict[str, Any]:
    try:
        keystore: dict[str, Any] = client.get(f"/keystores/{uuid.UUID(ref)}")
        return keystore
    except ValueError:
        pass
    station, sep, partner = ref.rpartition(":")
    for keystore in client.get("/keystores") if sep else []:
        if (keystore["station_as2_id"], keystore["partner_as2_id"]) == (station, partner):
            return dict(keystore)
    raise CliError(
        f"no keystore {ref!r} (give its id or STATION:PARTNER; see: as2bus keystore list)"
    )


def new_password(password: str | None) -> str:
    if password is not None:
        return password
    return str(typer.prompt("Keystore password", hide_input=True, confirmation_prompt=True))


@app.command("create")
def create(
    ctx: typer.Context,
    station: Station,
    partner: Partner,
    password: Password = None,
    private_key_alias: Annotated[
        str | None, typer.Option(help="Default: the station's key alias.")
    ] = None,
    partner_cert_alias: Annotated[
        str | None, typer.Option(help="Default: the partner's alias.")
    ] = None,
    own_key: Annotated[
        str, typer.Option(help="generate a new key, or use the existing one.")
    ] = "generate",
    key_bits: Annotated[int, typer.Option(help="RSA key size for a generated key.")] = 2048,
    validity_days: Annotated[int, typer.Option(help="Validity of a generated certificate.")] = 730,
) -> None:
    """Create a partnership's keystore (and our key, unless --own-key existing)."""
    state: CliState = ctx.obj
    client = state.cert_client()
    secret = new_password(password)
    client.secrets.add(secret)
    body = {
        "station": station,
        "partner": partner,
        "password": secret,
        "own_key": own_key,
        "private_key_alias": private_key_alias,
        "partner_cert_alias": partner_cert_alias,
        "key_bits": key_bits,
        "validity_days": validity_days,
    }
    output.show(
        client.post("/keystores", {k: v for k, v in body.items() if v is not None}), state.json
    )


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="Our existing PKCS#12; its password protects the keystore.")
    ],
    station: Station,
    partner: Partner,
    password: Password = None,
    key_alias: Annotated[
        str | None, typer.Option(help="The entry's friendly name in the file.")
    ] = None,
    allow_invalid_dates: Annotated[
        bool, typer.Option(help="Accept an expired or future certificate.")
    ] = False,
) -> None:
    """Create a keystore from our existing PKCS#12 file."""
    state: CliState = ctx.obj
    client = state.cert_client()
    secret = (
        password if password is not None else str(typer.prompt("PKCS#12 password", hide_input=True))
    )
    client.secrets.add(secret)
    fields = {
        "station": station,
        "partner": partner,
        "password": secret,
        "key_alias": key_alias,
        "allow_invalid_dates": allow_invalid_dates,
    }
    view = client.upload("/keystores/import", fields, read_file(file))
    warn(view)
    output.show(view, state.json)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List keystores."""
    state: CliState = ctx.obj
    rows = state.cert_client().get("/keystores")
    output.table(rows, COLUMNS, state.json, "No keystores yet (as2bus keystore create ...).")


@app.command("show")
def show(ctx: typer.Context, ref: Ref) -> None:
    """Show a keystore and its certificates."""
    state: CliState = ctx.obj
    keystore = resolve(state.cert_client(), ref)
    if state.json:
        output.print_json(keystore)
        return
    certs = keystore.pop("own_certificates") + keystore.pop("partner_certificates")
    output.show(keystore, False)
    typer.echo("")
    output.table(certs, CERT_COLUMNS, False, "(no certificates yet)")


def export(
    ctx: typer.Context,
    keystore: Annotated[
        str, typer.Option("--keystore", help="The keystore: its id or STATION:PARTNER.")
    ],
    out: Annotated[Path, typer.Option("-o", "--output", help="The file to write.")],
    what: Annotated[
        str,
        typer.Option(
            help="keystore (.p12, our key + certificates), partner (.p12) or public (.cer)."
        ),
    ] = "keystore",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Export a keystore (.p12), the partner certificate (.p12) or our public certificate (.cer)."""
    paths = {"keystore": "keystore.p12", "partner": "partner.p12", "public": "certificate.cer"}
    if what not in paths:
        raise CliError("--what must be keystore, partner or public")
    state: CliState = ctx.obj
    client = state.cert_client()
    found = resolve(client, keystore)
    data = client.download(f"/keystores/{found['id']}/{paths[what]}")
    write_new(out, data, force=force, private=what != "public")
    typer.echo(f"wrote {out} ({len(data)} bytes)")
