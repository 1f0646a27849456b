"""The partner's certificate given with ``keystore create`` and ``keystore import``: stored in
the same cert-svc call as the keystore, so both are stored or neither (as Create Cert does in
the console), instead of a ``cert upload-partner`` before or after.

A PEM or DER certificate, a chain or .p7b, or an entry of a PKCS#12 file such as OpenAS2's
as2_certs.p12 (``--partner-cert-entry``, with the file's password).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from as2bus.cli import ask
from as2bus.cli.certs import read_file

PartnerCert = Annotated[
    Path | None,
    typer.Option(
        "--partner-cert",
        show_default=False,
        help="The partner's certificate, stored with the keystore (both or neither): PEM or "
        "DER (.cer, .crt, .pem), a chain or .p7b, or a PKCS#12 file (.p12, e.g. OpenAS2's "
        "as2_certs.p12) with --partner-cert-entry. Default: the one the certificate service "
        "(cert-svc) holds under the partner certificate alias, if any.",
    ),
]
PartnerCertEntry = Annotated[
    str | None,
    typer.Option(
        "--partner-cert-entry",
        show_default=False,
        help="In a PKCS#12 --partner-cert holding several certificates: the partner's entry "
        "(its alias there, e.g. partnera).",
    ),
]
PartnerCertPassword = Annotated[
    str | None,
    typer.Option(
        "--partner-cert-password",
        envvar="AS2BUS_PARTNER_CERT_PASSWORD",
        show_default=False,
        help="A PKCS#12 --partner-cert's password (asked for when the file is one and it is "
        "not given).",
    ),
]

_PKCS12_SUFFIXES = (".p12", ".pfx")


@dataclass(frozen=True)
class PartnerFile:
    name: str
    content: bytes
    password: str | None  # a PKCS#12 file's
    entry: str | None

    def as_json_field(self) -> str:
        """POST /keystores takes it as text: PEM as it is, anything else in base64."""
        if self.content.lstrip().startswith(b"-----BEGIN"):
            return self.content.decode("ascii", "replace")
        return base64.b64encode(self.content).decode()


def partner_file(
    path: Path | None, password: str | None, entry: str | None, secrets: set[str]
) -> PartnerFile | None:
    """The file given, with the PKCS#12 password asked for when it needs one; None: none
    given (then an entry or a password alone is a mistake worth one sentence)."""
    if path is None:
        if entry is not None or password is not None:
            raise typer.BadParameter(
                "give the file with --partner-cert", param_hint="--partner-cert-entry/-password"
            )
        return None
    name, content = read_file(path)
    if password is None and (entry is not None or path.suffix.lower() in _PKCS12_SUFFIXES):
        password = ask.secret(f"Password of {name}")
    if password is not None:
        secrets.add(password)
    return PartnerFile(name, content, password, entry)
