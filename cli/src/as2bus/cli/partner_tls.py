"""The ``--tls-*`` options of ``as2bus partner create|update`` → the partner's ``tls`` body.

Only the options given are sent; config-svc keeps every other TLS setting as it is. PEM files
are read here and sent as text; a file holding a private key is refused before anything is
sent (the key must stay with its owner).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography import x509

from as2bus.cli.client import CliError

PANEL = "TLS with the partner"
NO_VERIFY_WARNING = (
    "warning: the partner's server certificate will not be verified (--tls-no-verify): "
    "anyone on the path can read and change the messages; use it for a test partner only"
)
_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


class TlsVersion(StrEnum):
    V1_2 = "1.2"
    V1_3 = "1.3"


def _option(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help, rich_help_panel=PANEL)


def _pem_file(name: str, help: str) -> Any:
    return typer.Option(
        name, help=help, rich_help_panel=PANEL, exists=True, dir_okay=False, readable=True
    )


CaFile = Annotated[
    Path | None,
    _pem_file(
        "--tls-ca-file",
        "PEM file of the CA (or self-signed certificate) trusted for the "
        "partner's server instead of the default bundle.",
    ),
]
NoCa = Annotated[bool, _option("--no-tls-ca", help="Trust the default CA bundle again (update).")]
Pin = Annotated[
    list[str] | None,
    _option(
        "--tls-pin",
        help="SHA-256 (hex) of the server's certificate or public key; "
        "repeat for several (replaces the stored pins; see: as2bus partner pin).",
    ),
]
NoPins = Annotated[bool, _option("--no-tls-pins", help="Remove every pin (update).")]
ClientCertificate = Annotated[
    bool | None,
    _option(
        "--tls-client-certificate/--no-tls-client-certificate",
        help="Whether we present our client certificate (the keystore's) when sending.",
    ),
]
MinVersion = Annotated[
    TlsVersion | None, _option("--tls-min-version", help="The lowest TLS version: 1.2 or 1.3.")
]
Verify = Annotated[
    bool | None,
    _option(
        "--tls-verify/--tls-no-verify",
        help="Whether the partner's server certificate is verified (no: test partners only).",
    ),
]
Proxy = Annotated[
    str | None,
    _option(
        "--proxy", help="An http(s):// proxy for this partner, e.g. http://proxy.example:3128."
    ),
]
NoProxy = Annotated[
    bool, _option("--no-proxy", help="No partner proxy: the proxy environment variables apply.")
]
FollowRedirects = Annotated[
    bool | None,
    _option(
        "--follow-redirects/--no-follow-redirects",
        help="Whether an HTTP redirect of the partner's server is followed when sending.",
    ),
]
RequireClientCertificate = Annotated[
    bool | None,
    _option(
        "--require-client-certificate/--no-require-client-certificate",
        help="Receiving: the partner must present a TLS client certificate "
        "(--client-certificates-file) matching its own.",
    ),
]
ClientCertificatesFile = Annotated[
    Path | None,
    _pem_file(
        "--client-certificates-file",
        "PEM file of the partner's TLS client "
        "certificate(s), or of the CA that issues them (for receiving).",
    ),
]
NoClientCertificates = Annotated[
    bool,
    _option("--no-client-certificates", help="Forget the partner's client certificates (update)."),
]

#: CLI parameter name → the field of ``tls``, for the plain settings.
_FIELDS = {
    "tls_client_certificate": "client_certificate",
    "tls_min_version": "min_version",
    "tls_verify": "verify",
    "proxy": "proxy_url",
    "follow_redirects": "follow_redirects",
    "require_client_certificate": "require_client_certificate",
}
#: (file option, its "forget it" flag, the field of ``tls``).
_PEM_FILES = (
    ("tls_ca_file", "no_tls_ca", "ca_bundle_pem"),
    ("client_certificates_file", "no_client_certificates", "client_certificates_pem"),
)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def read_certificates(path: Path) -> str:
    """A PEM file's text; config-svc checks that it holds certificates."""
    content = path.read_bytes()
    if _PRIVATE_KEY.search(content):
        raise CliError(
            f"{path} holds a private key, which must never leave its owner: give a file with "
            "the certificate(s) only"
        )
    try:
        return content.decode("ascii")
    except UnicodeDecodeError:
        raise CliError(f"{path} is not a PEM text file (-----BEGIN CERTIFICATE----- …)") from None


def _one_of(params: dict[str, Any], given: str, forget: str) -> bool:
    if params.get(given) is not None and params.get(forget):
        raise CliError(f"give {_flag(given)} or {_flag(forget)}, not both")
    return params.get(given) is not None or bool(params.get(forget))


def tls_body(params: dict[str, Any]) -> dict[str, Any] | None:
    """The ``tls`` body of the TLS options given, None when there are none."""
    params = {**params, "tls_pin": list(params.get("tls_pin") or []) or None}  # () if not given
    tls = {field: params[cli] for cli, field in _FIELDS.items() if params.get(cli) is not None}
    if _one_of(params, "proxy", "no_proxy"):
        tls["proxy_url"] = params.get("proxy")
    if _one_of(params, "tls_pin", "no_tls_pins"):
        tls["pinned_sha256"] = list(params.get("tls_pin") or [])
    for file_option, forget, field in _PEM_FILES:
        if _one_of(params, file_option, forget):
            path = params.get(file_option)
            tls[field] = read_certificates(path) if path is not None else None
    if tls.get("verify") is False:
        typer.echo(NO_VERIFY_WARNING, err=True)
    return tls or None


def certificate_lines(pem: str) -> list[str]:
    """Each certificate of a PEM text as ``<subject>, until <date>`` (or ``expired <date>``)."""
    try:
        found = x509.load_pem_x509_certificates(pem.encode("ascii"))
    except ValueError:
        return ["(not readable as PEM certificates)"]
    now = datetime.now(UTC)
    lines = []
    for cert in found:
        end = cert.not_valid_after_utc
        when = f"{'expired' if end < now else 'until'} {end:%Y-%m-%d}"
        lines.append(f"{cert.subject.rfc4514_string() or '(no subject)'}, {when}")
    return lines


def readable(partner: dict[str, Any]) -> dict[str, Any]:
    """A partner as people read it: its PEM settings as the certificates' subjects and expiry,
    not the PEM text (``--json`` shows that)."""
    tls = partner.get("tls")
    if not isinstance(tls, dict):
        return partner
    shown = dict(tls)
    for _, _, field in _PEM_FILES:
        if tls.get(field):
            shown[field] = "; ".join(certificate_lines(tls[field]))
    return {**partner, "tls": shown}
