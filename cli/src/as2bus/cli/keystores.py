"""``as2bus keystore ...`` and ``as2bus cert export``: a partnership's keys and certificates.

One keystore per partnership: our key for it (its own, unless shared on purpose) and the
partner's certificate. Giving a partnership a new key is ``keystore rotate``, with an overlap.
"""

from __future__ import annotations

import shlex
import ssl
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from as2bus.cli import ask, output
from as2bus.cli.certs import COLUMNS as CERT_COLUMNS
from as2bus.cli.certs import (
    ActivateAt,
    AllowInvalidDates,
    KeyBits,
    RetirePreviousAt,
    ValidityDays,
    ask_password,
    iso_time,
    read_file,
    warn,
    write_new,
)
from as2bus.cli.certs import Password as P12Password
from as2bus.cli.client import CliError, CliState, ConfigClient
from as2bus.cli.help import new_app
from as2bus.cli.keystore_partner_cert import (
    PartnerCert,
    PartnerCertEntry,
    PartnerCertPassword,
    partner_file,
)

app = new_app(help="Keystores: a partnership's key and certificates, with an export password.")

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
        f"there is no keystore {ref}: give its ID or STATION:PARTNER (AS2 IDs) as "
        "'as2bus keystore list' shows them"
    )


def new_password(password: str | None) -> str:
    if password is not None:
        return password
    return ask.secret("Keystore password", confirm=True)


@app.command("create")
def create(
    ctx: typer.Context,
    station: Station,
    partner: Partner,
    password: Password = None,
    private_key_alias: Annotated[
        str | None,
        typer.Option(
            help="Default: STATIONALIAS@PARTNERALIAS for a new key; the station's for --own-key "
            "existing."
        ),
    ] = None,
    partner_cert_alias: Annotated[
        str | None, typer.Option(help="Default: the partner's alias.")
    ] = None,
    own_key: Annotated[
        str,
        typer.Option(
            help="generate: a new key of the partnership's own; existing: share a key already "
            "in service (the station's, or --private-key-alias)."
        ),
    ] = "generate",
    key_bits: Annotated[int, typer.Option(help="RSA key size for a generated key.")] = 2048,
    validity_days: Annotated[int, typer.Option(help="Validity of a generated certificate.")] = 730,
    partner_cert: PartnerCert = None,
    partner_cert_entry: PartnerCertEntry = None,
    partner_cert_password: PartnerCertPassword = None,
) -> None:
    """Create a partnership's keystore (and its own new key, unless --own-key existing),
    with the partner's certificate when --partner-cert is given."""
    state: CliState = ctx.obj
    client = state.cert_client()
    theirs = partner_file(partner_cert, partner_cert_password, partner_cert_entry,
                          client.secrets)  # fmt: skip
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
    if theirs is not None:
        body |= {"partner_certificate": theirs.as_json_field(),
                 "partner_certificate_password": theirs.password,
                 "partner_certificate_entry": theirs.entry}  # fmt: skip
    keystore = client.post("/keystores", {k: v for k, v in body.items() if v is not None})
    show_keystore(keystore, state.json)
    if not state.json:
        next_steps(keystore)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Our existing PKCS#12 (e.g. OpenAS2's as2_certs.p12); only our key is taken."
        ),
    ],
    station: Station,
    partner: Partner,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            envvar="AS2BUS_KEYSTORE_PASSWORD",
            show_default=False,
            help="The file's password (asked for when not given); it also protects the "
            "keystore's exports unless --export-password is given.",
        ),
    ] = None,
    export_password: Annotated[
        str | None,
        typer.Option(
            "--export-password",
            show_default=False,
            help="Protects the keystore's exports (at least 8 characters; cannot be changed "
            "later). Default: the file's password.",
        ),
    ] = None,
    key_alias: Annotated[
        str | None, typer.Option(help="The entry's friendly name in the file.")
    ] = None,
    private_key_alias: Annotated[
        str | None,
        typer.Option(
            help="Our alias for the key, e.g. the file's (mycompany). Default: the alias "
            "already holding this key, else STATIONALIAS@PARTNERALIAS. A key already stored "
            "under it is shared, not stored twice."
        ),
    ] = None,
    partner_cert_alias: Annotated[
        str | None, typer.Option(help="Default: the partner's alias.")
    ] = None,
    allow_invalid_dates: Annotated[
        bool, typer.Option(help="Accept an expired or future certificate.")
    ] = False,
    partner_cert: PartnerCert = None,
    partner_cert_entry: PartnerCertEntry = None,
    partner_cert_password: PartnerCertPassword = None,
) -> None:
    """Create a keystore from our existing PKCS#12 file, with the partner's certificate when
    --partner-cert is given (another file, or another entry of the same one)."""
    state: CliState = ctx.obj
    client = state.cert_client()
    theirs = partner_file(partner_cert, partner_cert_password, partner_cert_entry,
                          client.secrets)  # fmt: skip
    secret = password if password is not None else ask.secret("PKCS#12 password")
    client.secrets.add(secret)
    if export_password is not None:
        client.secrets.add(export_password)
    fields = {
        "station": station,
        "partner": partner,
        "password": secret,
        "export_password": export_password,
        "key_alias": key_alias,
        "private_key_alias": private_key_alias,
        "partner_cert_alias": partner_cert_alias,
        "allow_invalid_dates": allow_invalid_dates,
    }
    more = {}
    if theirs is not None:
        fields |= {"partner_file_password": theirs.password, "partner_file_entry": theirs.entry}
        more["partner_file"] = (theirs.name, theirs.content)
    view = client.upload("/keystores/import", fields, read_file(file), more)
    warn(view)
    show_keystore(view, state.json)
    if not state.json:
        next_steps(view)


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    ref: Ref,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Import our new key from this PKCS#12 (default: generate)."),
    ] = None,
    password: P12Password = None,
    key_alias: Annotated[
        str | None, typer.Option(help="With --file: the entry's friendly name in the file.")
    ] = None,
    key_bits: KeyBits = 2048,
    validity_days: ValidityDays = 730,
    activate_at: ActivateAt = None,
    retire_previous_at: RetirePreviousAt = None,
    allow_invalid_dates: AllowInvalidDates = False,
) -> None:
    """Give a partnership a new key. The old one keeps decrypting until it retires (default:
    a switchover window after activation); from --activate-at on we sign with the new one, so
    send the partner the new certificate before then (cert export --what public --pending)."""
    state: CliState = ctx.obj
    client = state.cert_client()
    found = resolve(client, ref)
    times = {
        "activation_at": iso_time(activate_at, "--activate-at"),
        "retire_previous_at": iso_time(retire_previous_at, "--retire-previous-at"),
    }
    if file is None:
        body = {"key_bits": key_bits, "validity_days": validity_days, **times}
        path = f"/keystores/{found['id']}/rotate"
        view = client.post(path, {k: v for k, v in body.items() if v is not None})
    else:
        secret = ask_password(password)
        client.secrets.add(secret)
        fields: dict[str, Any] = {"password": secret, "key_alias": key_alias, **times}
        fields["allow_invalid_dates"] = allow_invalid_dates
        path = f"/keystores/{found['id']}/rotate/import"
        view = client.upload(path, fields, read_file(file))
    warn(view)
    show_keystore(view, state.json)
    if not state.json:
        name = f"{view['station_as2_id']}:{view['partner_as2_id']}"
        command = f"as2bus cert export --keystore {name} --what public"
        waiting = next_certificate(view)
        if waiting is None:  # active at once: the certificate in use is the new one
            typer.echo(f"\nSend the partner our new certificate, in use now:\n  {command} -o FILE")
        else:
            typer.echo(
                "\nSend the partner our new certificate before it takes over at "
                f"{when(waiting['activation_at'])}:\n  {command} --pending -o FILE"
            )


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
    show_keystore(resolve(state.cert_client(), ref), state.json)


def next_steps(keystore: dict[str, Any]) -> None:
    """After a new keystore, what is left before the first message: the partner's
    certificate (unless cert-svc holds one under the alias), and sending them ours."""
    name = shlex.quote(f"{keystore['station_as2_id']}:{keystore['partner_as2_id']}")
    steps = [f"send the partner our certificate: as2bus cert export --keystore {name} "
             "--what public -o FILE"]  # fmt: skip
    if not keystore.get("partner_certificates"):
        alias = shlex.quote(keystore["partner_cert_alias"])
        steps.insert(0, "upload the partner's certificate: as2bus cert upload-partner FILE "
                        f"--alias {alias}")  # fmt: skip
    typer.echo("\nNext:\n" + "\n".join(f"  {step}" for step in steps))


def show_keystore(keystore: dict[str, Any], as_json: bool) -> None:
    """The keystore's fields, then its certificates as a table (JSON: everything)."""
    if as_json:
        output.print_json(keystore)
        return
    fields = {
        k: v for k, v in keystore.items() if not k.endswith("certificates") and k != "warnings"
    }
    output.show(fields, False)
    typer.echo("")
    certs = keystore.get("own_certificates", []) + keystore.get("partner_certificates", [])
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
            help="keystore (.p12, our key + certificates), partner (.p12) or public (our "
            "certificate: PEM, as a base64 .cer or .pem; --der for binary)."
        ),
    ] = "keystore",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    pending: Annotated[
        bool,
        typer.Option(
            "--pending",
            help="With --what public: our new certificate from keystore rotate, waiting to "
            "take over, instead of the one in use.",
        ),
    ] = False,
    der: Annotated[
        bool,
        typer.Option(
            "--der",
            help="With --what public: binary DER instead of PEM (also when the file name "
            "ends in .der).",
        ),
    ] = False,
) -> None:
    """Export a keystore (.p12), the partner certificate (.p12) or our public certificate (PEM,
    or DER with --der). The .p12 files open in openssl and in Java's keytool (OpenAS2,
    Mendelson) alike."""
    paths = {"keystore": "keystore.p12", "partner": "partner.p12", "public": "certificate.cer"}
    if what not in paths:
        raise CliError("--what must be keystore, partner or public")
    if pending and what != "public":
        raise CliError("--pending goes with --what public (our new certificate)")
    der = der or (what == "public" and out.suffix.lower() == ".der")
    if der and what != "public":
        raise CliError("--der goes with --what public (a .p12 file is always binary)")
    state: CliState = ctx.obj
    client = state.cert_client()
    found = resolve(client, keystore)
    path = f"/keystores/{found['id']}/{paths[what]}"
    data = client.download(path, params={"which": "next"} if pending else None)
    pem = data.decode() if what == "public" else ""
    if (
        der
    ):  # the same certificate, its base64 body decoded: what `openssl x509 -outform DER` writes
        data = ssl.PEM_cert_to_DER_cert(pem)
    write_new(out, data, force=force, private=what != "public")
    typer.echo(f"wrote {out} ({len(data)} bytes{', DER' if der else ''})")
    if what == "public":
        for line in _which_certificate(found, pem, pending):
            typer.echo(f"  {line}")


def next_certificate(view: dict[str, Any]) -> dict[str, Any] | None:
    """Our newest certificate waiting to take over, as cert-svc picks it for ``which=next``
    (one retiring before it would activate never takes over); None when none waits."""
    waiting = [
        c
        for c in view.get("own_certificates", [])
        if c["state"] == "pending"
        and (not c.get("retirement_at") or _time(c["retirement_at"]) > _time(c["activation_at"]))
    ]
    return max(waiting, key=lambda c: _time(c["activation_at"]), default=None)


def _time(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC)


def when(iso: str) -> str:
    """An API time as people read it: ``2027-01-15 00:00 UTC``."""
    return _time(iso).strftime("%Y-%m-%d %H:%M UTC")


def _which_certificate(keystore: dict[str, Any], pem: str, pending: bool) -> list[str]:
    """Which certificate was written, said when a new one waits to take over: the partner
    must get the right one, and both look alike."""
    waiting = next_certificate(keystore)
    written = next(
        (c for c in keystore["own_certificates"] if c["cert_pem"].strip() == pem.strip()), None
    )
    if waiting is None or written is None:
        return []
    since = when(written["activation_at"])
    if pending:
        return [
            f"our new certificate, in use from {since}: send it to the partner before then",
            f"fingerprint (SHA-256) {written['fingerprint_sha256']}",
        ]
    return [
        f"our certificate in use now (since {since}), not the new one",
        f"fingerprint (SHA-256) {written['fingerprint_sha256']}",
        f"the new one takes over at {when(waiting['activation_at'])}: export it with --pending "
        "and send it to the partner before then",
    ]
