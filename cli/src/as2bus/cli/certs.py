"""``as2bus cert ...``: our keys and partners' certificates, through cert-svc.

A certificate on an alias that already has one is a rotation: the old one keeps working until
its retirement (by default a switchover window after the new one activates).
"""

from __future__ import annotations

import os
import shlex
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from as2bus.cli import ask, output
from as2bus.cli.client import CliError, CliState
from as2bus.cli.help import new_app
from as2bus.cli.stations import Yes

app = new_app(help="Certificates: generate, import, upload, rotate, export, list, delete.")

Alias = Annotated[
    str,
    typer.Option(
        "--alias", help="The certificate alias (a station's key alias or a partner's alias)."
    ),
]
CertId = Annotated[str, typer.Argument(help="The certificate's id (UUID; see 'as2bus cert list').")]
ActivateAt = Annotated[
    str | None,
    typer.Option(
        "--activate-at", help="ISO time the new certificate starts being used (default: now)."
    ),
]
RetirePreviousAt = Annotated[
    str | None,
    typer.Option(
        "--retire-previous-at",
        help="ISO time the alias's older certificates stop (default: activation + switchover).",
    ),
]
AllowInvalidDates = Annotated[
    bool,
    typer.Option(
        "--allow-invalid-dates",
        help="Store a certificate that is expired or not yet valid (with a warning).",
    ),
]
KeyBits = Annotated[int, typer.Option("--key-bits", help="RSA key size: 2048, 3072 or 4096.")]
ValidityDays = Annotated[
    int, typer.Option("--validity-days", help="How long the certificate is valid.")
]
Password = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="AS2BUS_P12_PASSWORD",
        show_default=False,
        help="The PKCS#12 password (asked for when not given).",
    ),
]


def _days_left(cert: dict[str, Any]) -> object:
    # Until the certificate expires: what matters only while it is, or will be, in service.
    return cert["days_left"] if cert["state"] in ("active", "pending") else "-"


COLUMNS: list[output.Column] = [
    ("ALIAS", lambda c: c["alias"]),
    ("KIND", lambda c: c["kind"]),
    ("STATE", lambda c: c["state"]),
    ("IN USE FROM", lambda c: (c.get("activation_at") or "")[:16].replace("T", " ")),
    ("RETIRES", lambda c: (c.get("retirement_at") or "")[:16].replace("T", " ")),
    ("DAYS LEFT", _days_left),
    ("NOT AFTER", lambda c: c["not_after"][:10]),
    ("FINGERPRINT", lambda c: c["fingerprint_sha256"][:23]),
    ("USED BY", lambda c: ", ".join(used_by(c["used_by"]))),
    ("ID", lambda c: c["id"]),
]


def used_by(users: dict[str, list[str]]) -> list[str]:
    """Stations, partners and partnerships (STATION:PARTNER) using a certificate."""
    partnerships = users.get("partnerships", [])  # from cert-svc since keys are per partnership
    return list(dict.fromkeys(users["stations"] + users["partners"] + partnerships))


def checked_cert_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise CliError(
            f"{value!r} is not a certificate ID: take one from the ID column of 'as2bus cert list'"
        ) from None


def iso_time(value: str | None, option: str) -> str | None:
    """``value`` checked as an ISO 8601 time (sent as given), so a typo reads plainly."""
    if value is None:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"{option} {value!r} is not a date and time: write it as ISO 8601, "
            "e.g. 2026-07-01T09:00:00Z"
        ) from None
    return value


def read_file(path: Path) -> tuple[str, bytes]:
    try:
        return path.name, path.read_bytes()
    except OSError as err:
        raise CliError(f"cannot read {path}: {err.strerror}") from None


def warn(view: dict[str, Any]) -> None:
    for warning in view.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)


def show_certificate(view: dict[str, Any], as_json: bool) -> None:
    """Human output leaves the PEM out (``as2bus cert pem`` prints it); JSON keeps everything."""
    output.show(view if as_json else {k: v for k, v in view.items() if k != "cert_pem"}, as_json)


def ask_password(password: str | None) -> str:
    return password if password is not None else ask.secret("PKCS#12 password")


@app.command("list")
def list_(
    ctx: typer.Context,
    alias: Annotated[str | None, typer.Option(help="Only this alias.")] = None,
    kind: Annotated[str | None, typer.Option(help="own or partner.")] = None,
) -> None:
    """List certificates with their state, days left and users."""
    state: CliState = ctx.obj
    if kind not in (None, "own", "partner"):
        raise CliError(f"--kind must be own or partner, not {kind!r}")
    params = {k: v for k, v in {"alias": alias, "kind": kind}.items() if v}
    rows = state.cert_client().get("/certificates", params=params or None)
    output.table(
        rows, COLUMNS, state.json, "No certificates yet (as2bus cert generate --alias ...)."
    )


@app.command("show")
def show(ctx: typer.Context, cert_id: CertId) -> None:
    """Show one certificate."""
    state: CliState = ctx.obj
    view = state.cert_client().get(f"/certificates/{checked_cert_id(cert_id)}")
    show_certificate(view, state.json)


@app.command("pem")
def pem(
    ctx: typer.Context,
    cert_id: CertId,
    out: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file instead of printing.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Print a certificate's public PEM (safe to send to a partner)."""
    state: CliState = ctx.obj
    text = state.cert_client().download(f"/certificates/{checked_cert_id(cert_id)}/certificate.pem")
    if out is None:
        typer.echo(text.decode().rstrip())
    else:
        write_new(out, text, force=force, private=False)
        typer.echo(f"wrote {out}")


@app.command("generate")
def generate(
    ctx: typer.Context,
    alias: Alias,
    common_name: Annotated[
        str | None, typer.Option(help="Subject CN (default: the alias).")
    ] = None,
    organization: Annotated[str | None, typer.Option(help="Subject O.")] = None,
    key_bits: KeyBits = 2048,
    validity_days: ValidityDays = 730,
    activate_at: ActivateAt = None,
    retire_previous_at: RetirePreviousAt = None,
) -> None:
    """Generate a key and self-signed certificate for one of our aliases."""
    state: CliState = ctx.obj
    body = {
        "alias": alias,
        "common_name": common_name,
        "organization": organization,
        "key_bits": key_bits,
        "validity_days": validity_days,
        "activation_at": iso_time(activate_at, "--activate-at"),
        "retire_previous_at": iso_time(retire_previous_at, "--retire-previous-at"),
    }
    view = state.cert_client().post(
        "/certificates/own", {k: v for k, v in body.items() if v is not None}
    )
    show_certificate(view, state.json)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Our key and certificate as PKCS#12 (.p12/.pfx).")],
    alias: Alias,
    key_alias: Annotated[
        str | None, typer.Option(help="The entry's friendly name in the file, if it has several.")
    ] = None,
    password: Password = None,
    activate_at: ActivateAt = None,
    retire_previous_at: RetirePreviousAt = None,
    allow_invalid_dates: AllowInvalidDates = False,
) -> None:
    """Import our key and certificate from a PKCS#12 file."""
    state: CliState = ctx.obj
    client = state.cert_client()
    secret = ask_password(password)
    client.secrets.add(secret)
    fields = {
        "alias": alias,
        "password": secret,
        "key_alias": key_alias,
        "activation_at": iso_time(activate_at, "--activate-at"),
        "retire_previous_at": iso_time(retire_previous_at, "--retire-previous-at"),
        "allow_invalid_dates": allow_invalid_dates,
    }
    view = client.upload("/certificates/own/import", fields, read_file(file))
    warn(view)
    used = view["used_by"]
    if not used["stations"] and not used.get("partnerships"):  # cert-svc warned: unused alias
        removal_hint(view)
    show_certificate(view, state.json)


@app.command("upload-partner")
def upload_partner(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="The partner's certificate: PEM or DER (.cer, .crt, .pem), a chain or PKCS#7 "
            "(.p7b), of which the partner's own certificate is kept, or a PKCS#12 file "
            "(.p12, e.g. OpenAS2's as2_certs.p12) with --entry."
        ),
    ],
    alias: Alias,
    entry: Annotated[
        str | None,
        typer.Option(
            "--entry",
            help="In a PKCS#12 file holding several certificates: the partner's entry (its "
            "alias there, e.g. partnera). The file's password is asked for (or --password; a "
            "file of one certificate needs --password only).",
        ),
    ] = None,
    password: Password = None,
    activate_at: ActivateAt = None,
    retire_previous_at: RetirePreviousAt = None,
    allow_invalid_dates: AllowInvalidDates = False,
) -> None:
    """Upload a partner's public certificate (a rotation if the alias has one)."""
    state: CliState = ctx.obj
    client = state.cert_client()
    fields: dict[str, Any] = {
        "alias": alias,
        "activation_at": iso_time(activate_at, "--activate-at"),
        "retire_previous_at": iso_time(retire_previous_at, "--retire-previous-at"),
        "allow_invalid_dates": allow_invalid_dates,
        "entry": entry,
    }
    # Asked for with --entry only: a .p12 sent without it is explained by cert-svc (the
    # password and the entry to give, or the command that takes the certificate out).
    if password is not None or entry is not None:
        fields["password"] = ask_password(password)
        client.secrets.add(fields["password"])
    view = client.upload("/certificates/partner", fields, read_file(file))
    warn(view)
    if not view["used_by"]["partners"]:  # cert-svc warned: no partner uses the alias
        removal_hint(view)
    show_certificate(view, state.json)


def removal_hint(view: dict[str, Any]) -> None:
    """The command that deletes a certificate stored where nothing uses it (cert-svc warned)."""
    short = view["fingerprint_sha256"][:23]
    typer.echo(f"  to remove it: as2bus cert delete --alias {shlex.quote(view['alias'])} "
               f"--fingerprint {short}", err=True)  # fmt: skip


@app.command("delete")
def delete(
    ctx: typer.Context,
    alias: Alias,
    fingerprint: Annotated[
        str | None,
        typer.Option(
            "--fingerprint",
            help="Which of the alias's certificates: the start of its SHA-256 fingerprint "
            "(as 'as2bus cert list' shows it); needed when the alias has several.",
        ),
    ] = None,
    yes: Yes = False,
) -> None:
    """Delete a certificate nothing uses: a partner's no partner uses (uploaded under a wrong
    alias), or a copy of our key under an alias no station or keystore uses."""
    state: CliState = ctx.obj
    client = state.cert_client()
    found = client.get("/certificates", params={"alias": alias})
    if fingerprint is not None:
        found = [c for c in found if _hex(c["fingerprint_sha256"]).startswith(_hex(fingerprint))]
    which = f" with a fingerprint starting {fingerprint}" if fingerprint else ""
    if not found:
        raise CliError(f"no certificate under the alias {alias!r}{which} (see: as2bus cert list)")
    if len(found) > 1:
        starts = ", ".join(c["fingerprint_sha256"][:23] for c in found)
        raise CliError(
            f"the alias {alias!r} holds {len(found)} certificates{which}: say which "
            f"with --fingerprint (theirs start {starts})"
        )
    cert = found[0]
    what = "our key and certificate" if cert["kind"] == "own" else "the partner certificate"
    name = f"{what} {cert['fingerprint_sha256'][:23]} under the alias {alias!r}"
    if not yes:
        # cert-svc cannot know inbound-svc's setting: the one use of our key it does not see
        tls = " (not if inbound-svc's AS2BUS_INBOUND_TLS_KEY_ALIAS names it)"
        typer.confirm(f"Delete {name}{tls if cert['kind'] == 'own' else ''}?", abort=True)
    client.delete(f"/certificates/{cert['id']}")
    output.done(f"deleted {name}", {"deleted": cert["id"]}, state.json)


def _hex(fingerprint: str) -> str:
    """A fingerprint as hex digits alone, so that AB:CD, abcd and AB CD compare equal."""
    return "".join(c for c in fingerprint.upper() if c in "0123456789ABCDEF")


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    alias: Alias,
    generate_key: Annotated[
        bool, typer.Option("--generate", help="Rotate our key: generate a new one.")
    ] = False,
    file: Annotated[
        Path | None, typer.Option("--file", help="Rotate our key: import this PKCS#12.")
    ] = None,
    partner_file: Annotated[
        Path | None, typer.Option("--partner-file", help="Rotate a partner's certificate.")
    ] = None,
    password: Password = None,
    key_bits: KeyBits = 2048,
    validity_days: ValidityDays = 730,
    activate_at: ActivateAt = None,
    retire_previous_at: RetirePreviousAt = None,
) -> None:
    """Put a new certificate on an alias in use; the old one retires after the window."""
    chosen = [generate_key, file is not None, partner_file is not None]
    if sum(chosen) != 1:
        raise CliError("give exactly one of --generate, --file or --partner-file")
    if generate_key:
        ctx.invoke(
            generate,
            ctx=ctx,
            alias=alias,
            key_bits=key_bits,
            validity_days=validity_days,
            activate_at=activate_at,
            retire_previous_at=retire_previous_at,
        )
    elif file is not None:
        ctx.invoke(
            import_,
            ctx=ctx,
            file=file,
            alias=alias,
            password=password,
            activate_at=activate_at,
            retire_previous_at=retire_previous_at,
        )
    else:
        assert partner_file is not None
        ctx.invoke(
            upload_partner,
            ctx=ctx,
            file=partner_file,
            alias=alias,
            activate_at=activate_at,
            retire_previous_at=retire_previous_at,
        )
    state: CliState = ctx.obj
    if not state.json:
        typer.echo("")
        output.table(
            state.cert_client().get("/certificates", params={"alias": alias}), COLUMNS, False, ""
        )


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    cert_id: CertId,
    activate_at: ActivateAt = None,
    retire_at: Annotated[
        str | None, typer.Option("--retire-at", help="ISO time this certificate stops being used.")
    ] = None,
) -> None:
    """Move a certificate's activation or retirement."""
    state: CliState = ctx.obj
    times = {
        "activation_at": iso_time(activate_at, "--activate-at"),
        "retirement_at": iso_time(retire_at, "--retire-at"),
    }
    body = {k: v for k, v in times.items() if v}
    if not body:
        raise CliError("give --activate-at and/or --retire-at")
    view = state.cert_client().patch(f"/certificates/{checked_cert_id(cert_id)}", body)
    show_certificate(view, state.json)


def write_new(path: Path, data: bytes, *, force: bool, private: bool) -> None:
    """Write ``data`` to ``path`` (owner-only if ``private``); an existing file only with
    ``force``. Any failure to write is one sentence, not a traceback."""
    if path.is_dir():
        raise CliError(f"{path} is a folder: give a file name, e.g. {path / 'certificate.cer'}")
    if path.exists() and not force:
        raise CliError(f"{path} exists; use --force to overwrite it")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(path, flags, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if private:
            os.chmod(path, 0o600)
    except OSError as err:
        raise CliError(f"cannot write {path}: {err.strerror or err}") from None
