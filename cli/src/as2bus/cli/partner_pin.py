"""``as2bus partner pin``: the SHA-256 pins of a partner's server certificate, for --tls-pin.

The certificate is fetched without verifying it (a partner with a self-signed certificate is
the usual reason to pin), so what it prints is only as good as the network path it came over:
compare it with what the partner tells you before pinning it.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from as2bus.cli.client import CliError
from as2bus.cli.partner_tls import certificate_lines, read_certificates

TIMEOUT_SECONDS = 10
UNVERIFIED = (
    "Fetched without verification: compare a pin with what the partner tells you (by phone, "
    "from its documentation) before you rely on it."
)

FromUrl = Annotated[
    str | None,
    typer.Option("--from-url", help="The partner's https:// URL (host and port are enough)."),
]
FromFile = Annotated[
    Path | None,
    typer.Option("--from-file", help="A PEM file of the certificate(s) to pin instead.",
                 exists=True, dir_okay=False, readable=True),
]  # fmt: skip


def pins(cert: x509.Certificate) -> tuple[str, str]:
    """(SHA-256 of the certificate's DER, SHA-256 of its SubjectPublicKeyInfo DER), in hex."""
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    der = cert.public_bytes(Encoding.DER)
    return hashlib.sha256(der).hexdigest(), hashlib.sha256(spki).hexdigest()


def server_certificate(url: str) -> x509.Certificate:
    """The certificate the server at ``url`` presents, not verified."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme != "https" or not parts.hostname:
        raise CliError(f"{url!r} is not an https:// URL with a host: only TLS has a certificate")
    try:
        port = parts.port or 443
    except ValueError:
        raise CliError(f"{url!r} has a port that is not a number") from None
    context = ssl.create_default_context()
    # Verification is off on purpose: this fetches the certificate to look at, and the
    # output says that it was not verified.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((parts.hostname, port), timeout=TIMEOUT_SECONDS) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as err:
        raise CliError(f"no TLS connection to {parts.hostname}:{port}: {err}") from None
    if not der:
        raise CliError(f"{parts.hostname}:{port} presented no certificate")
    return x509.load_der_x509_certificate(der)


def _print(cert: x509.Certificate) -> None:
    (summary,) = certificate_lines(cert.public_bytes(Encoding.PEM).decode("ascii"))
    certificate_pin, key_pin = pins(cert)
    typer.echo(f"certificate:     {summary}")
    typer.echo(f"certificate pin: {certificate_pin}")
    typer.echo(f"public-key pin:  {key_pin}  (survives a renewal with the same key)")


def pin(from_url: FromUrl = None, from_file: FromFile = None) -> None:
    """Print the SHA-256 pins (certificate and public key) of a server's certificate.

    Use one with: as2bus partner update <partner> --tls-pin <pin>
    """
    if from_url is not None and from_file is None:
        _print(server_certificate(from_url))
        typer.echo(UNVERIFIED, err=True)
    elif from_file is not None and from_url is None:
        text = read_certificates(from_file)
        try:
            found = x509.load_pem_x509_certificates(text.encode("ascii"))
        except ValueError:
            raise CliError(f"{from_file} holds no PEM certificate") from None
        for index, cert in enumerate(found):
            if index:
                typer.echo()
            _print(cert)
    else:
        raise CliError("give --from-url or --from-file (one of them)")
