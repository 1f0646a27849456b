"""``as2bus partner ...``: trading partners and how we send to them."""

from __future__ import annotations

from typing import Any

import typer

from as2bus.cli import output
from as2bus.cli import partner_opts as opt
from as2bus.cli import partner_tls as tls
from as2bus.cli.auth_opts import build_auth, secrets_in
from as2bus.cli.client import CliError, CliState
from as2bus.cli.help import new_app
from as2bus.cli.partner_pin import pin
from as2bus.cli.refs import refuse_while_paired, resolve
from as2bus.cli.stations import Yes
from as2bus.shared.partner_warnings import partner_warnings

app = new_app(help="Trading partners: who we exchange AS2 messages with, and how.")


def _mdn(p: dict[str, Any]) -> str:
    if p.get("mdn_mode") == "none":
        return "none"
    signature = p.get("mdn_signature") or ("required" if p.get("mdn_signed") else "none")
    return f"{p.get('mdn_mode')}, signature {signature}"


COLUMNS: list[output.Column] = [
    ("AS2 ID", lambda p: p["as2_id"]),
    ("NAME", lambda p: p["name"]),
    ("URL", lambda p: p["as2_url"]),
    ("ENABLED", lambda p: p.get("enabled")),
    ("ENCRYPTION", lambda p: p.get("encryption_alg") or "none"),
    ("SIGNING", lambda p: p.get("signing_alg") or "none"),
    ("MDN", _mdn),
    ("AUTH", lambda p: (p.get("http_auth") or {}).get("type", "none")),
]


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    body = opt.settings(params)
    tls_settings = tls.tls_body(params)
    if tls_settings is not None:
        body["tls"] = tls_settings
    return body


def _show(partner: dict[str, Any], as_json: bool) -> None:
    """One partner: as stored (JSON), or for people (certificates as subject and expiry)."""
    output.show(partner if as_json else tls.readable(partner), as_json)


def _saved(partner: dict[str, Any], as_json: bool) -> None:
    """A partner just created or changed, after what its settings risk (on stderr, as
    --tls-no-verify's warning: the output stays the partner)."""
    for warning in partner_warnings(partner):
        typer.echo(f"warning: {warning}", err=True)
    _show(partner, as_json)


@app.command("create")
def create(
    ctx: typer.Context,
    as2_id: opt.As2Id,
    name: opt.Name,
    url: opt.Url,
    alias: opt.Alias = None,
    email: opt.Email = None,
    subject: opt.Subject = None,
    mdn: opt.Mdn = None,
    async_mdn_url: opt.AsyncMdnUrl = None,
    async_mdn_network: opt.AsyncMdnNetwork = None,
    no_async_mdn_networks: opt.NoAsyncMdnNetworks = False,
    mdn_signature: opt.MdnSignatureOpt = None,
    mdn_signed: opt.MdnSigned = None,
    mdn_signing_alg: opt.MdnSigningAlg = None,
    encryption: opt.Encryption = None,
    signing: opt.Signing = None,
    signature_scheme: opt.SignatureSchemeOpt = None,
    key_transport: opt.KeyTransportOpt = None,
    accept_expired_mdn_cert: opt.AcceptExpiredMdnCert = None,
    canonicalize_line_endings: opt.CanonicalizeLineEndings = None,
    replay_protection: opt.ReplayProtection = None,
    as2_version: opt.As2VersionOpt = None,
    compression: opt.CompressionOpt = None,
    encoding: opt.Encoding = None,
    rate_limit: opt.RateLimit = None,
    max_concurrency: opt.MaxConcurrency = None,
    disabled: opt.Disabled = False,
    auth: opt.Auth = None,
    username: opt.Username = None,
    password: opt.Password = None,
    token_value: opt.TokenValue = None,
    token_placement: opt.TokenPlacement = None,
    token_header: opt.TokenHeader = None,
    token_scheme: opt.TokenScheme = None,
    token_param: opt.TokenParam = None,
    token_body_field: opt.TokenBodyField = None,
    tls_ca_file: tls.CaFile = None,
    no_tls_ca: tls.NoCa = False,
    tls_pin: tls.Pin = None,
    no_tls_pins: tls.NoPins = False,
    tls_client_certificate: tls.ClientCertificate = None,
    tls_min_version: tls.MinVersion = None,
    tls_verify: tls.Verify = None,
    proxy: tls.Proxy = None,
    no_proxy: tls.NoProxy = False,
    follow_redirects: tls.FollowRedirects = None,
    require_client_certificate: tls.RequireClientCertificate = None,
    client_certificates_file: tls.ClientCertificatesFile = None,
    no_client_certificates: tls.NoClientCertificates = False,
) -> None:
    """Create a partner.

    Unset options take the service's defaults: aes256-cbc, sha256, synchronous signed MDNs,
    no HTTP authentication, TLS 1.2 or later verified with the default CA bundle.
    """
    state: CliState = ctx.obj
    client = state.client()
    body = _settings(ctx.params)
    http_auth = build_auth(ctx.params, None, f"partner {as2_id!r}")
    if http_auth is not None:
        body["http_auth"] = http_auth
    client.secrets |= secrets_in(http_auth)
    _saved(client.post("/partners", body), state.json)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the partners."""
    state: CliState = ctx.obj
    rows = state.client().get("/partners")
    output.table(rows, COLUMNS, state.json, "No partners yet (create one: as2bus partner create).")


@app.command("show")
def show(ctx: typer.Context, ref: opt.Ref) -> None:
    """Show one partner (secrets show only as password_set / token_set)."""
    state: CliState = ctx.obj
    _show(resolve(state.client(), "partner", ref), state.json)


@app.command("update")
def update(
    ctx: typer.Context,
    ref: opt.Ref,
    as2_id: opt.NewAs2Id = None,
    name: opt.NewName = None,
    url: opt.NewUrl = None,
    alias: opt.Alias = None,
    email: opt.Email = None,
    subject: opt.Subject = None,
    mdn: opt.Mdn = None,
    async_mdn_url: opt.AsyncMdnUrl = None,
    async_mdn_network: opt.AsyncMdnNetwork = None,
    no_async_mdn_networks: opt.NoAsyncMdnNetworks = False,
    mdn_signature: opt.MdnSignatureOpt = None,
    mdn_signed: opt.MdnSigned = None,
    mdn_signing_alg: opt.MdnSigningAlg = None,
    encryption: opt.Encryption = None,
    signing: opt.Signing = None,
    signature_scheme: opt.SignatureSchemeOpt = None,
    key_transport: opt.KeyTransportOpt = None,
    accept_expired_mdn_cert: opt.AcceptExpiredMdnCert = None,
    canonicalize_line_endings: opt.CanonicalizeLineEndings = None,
    replay_protection: opt.ReplayProtection = None,
    as2_version: opt.As2VersionOpt = None,
    compression: opt.CompressionOpt = None,
    encoding: opt.Encoding = None,
    rate_limit: opt.RateLimit = None,
    max_concurrency: opt.MaxConcurrency = None,
    auth: opt.Auth = None,
    username: opt.Username = None,
    password: opt.Password = None,
    token_value: opt.TokenValue = None,
    token_placement: opt.TokenPlacement = None,
    token_header: opt.TokenHeader = None,
    token_scheme: opt.TokenScheme = None,
    token_param: opt.TokenParam = None,
    token_body_field: opt.TokenBodyField = None,
    tls_ca_file: tls.CaFile = None,
    no_tls_ca: tls.NoCa = False,
    tls_pin: tls.Pin = None,
    no_tls_pins: tls.NoPins = False,
    tls_client_certificate: tls.ClientCertificate = None,
    tls_min_version: tls.MinVersion = None,
    tls_verify: tls.Verify = None,
    proxy: tls.Proxy = None,
    no_proxy: tls.NoProxy = False,
    follow_redirects: tls.FollowRedirects = None,
    require_client_certificate: tls.RequireClientCertificate = None,
    client_certificates_file: tls.ClientCertificatesFile = None,
    no_client_certificates: tls.NoClientCertificates = False,
) -> None:
    """Change a partner; only the options given change.

    A stored password or token is kept unless a new one is given.
    """
    state: CliState = ctx.obj
    client = state.client()
    body = _settings(ctx.params)
    partner = resolve(client, "partner", ref)
    http_auth = build_auth(ctx.params, partner.get("http_auth"), f"partner {partner['as2_id']!r}")
    if http_auth is not None:
        body["http_auth"] = http_auth
    client.secrets |= secrets_in(http_auth)
    if not body:
        raise CliError("give at least one option to change (see: as2bus partner update --help)")
    _saved(client.patch(f"/partners/{partner['id']}", body), state.json)


app.command("pin")(pin)


def _set_enabled(ctx: typer.Context, ref: str, enabled: bool) -> None:
    state: CliState = ctx.obj
    client = state.client()
    partner = resolve(client, "partner", ref)
    result = client.patch(f"/partners/{partner['id']}", {"enabled": enabled})
    word = "enabled" if enabled else "disabled"
    output.done(f"partner {partner['as2_id']} {word}", result, state.json)


@app.command("enable")
def enable(ctx: typer.Context, ref: opt.Ref) -> None:
    """Enable a partner: messages to it flow again."""
    _set_enabled(ctx, ref, True)


@app.command("disable")
def disable(ctx: typer.Context, ref: opt.Ref) -> None:
    """Disable a partner: nothing is sent to it until it is enabled again."""
    _set_enabled(ctx, ref, False)


@app.command("delete")
def delete(ctx: typer.Context, ref: opt.Ref, yes: Yes = False) -> None:
    """Delete a partner (refused while partnerships use it)."""
    state: CliState = ctx.obj
    client = state.client()
    partner = resolve(client, "partner", ref)
    refuse_while_paired(client, "partner", partner)
    if not yes:
        typer.confirm(f"Delete partner {partner['as2_id']!r}?", abort=True)
    client.delete(f"/partners/{partner['id']}")
    output.done(f"deleted partner {partner['as2_id']}", {"deleted": partner["id"]}, state.json)
