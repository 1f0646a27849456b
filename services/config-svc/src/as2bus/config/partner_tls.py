"""What a partner's TLS settings accept, checked as the operator types them. No I/O here.

Every message is one sentence an operator can act on. The PEM fields are published with the
partner's state, so they hold certificates only: a private key pasted by mistake is refused
and never repeated in the refusal (nor anywhere else).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

#: A CA or two and the partner's own certificate fit easily; a whole public CA bundle (the
#: default when this is empty) would ride along in every partner event.
MAX_PEM_CHARS = 100_000
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_HEX_64 = re.compile(r"[0-9a-f]{64}")

PRIVATE_KEY_REFUSED = (
    "holds a private key, which must never leave its owner: paste the certificate(s) only "
    "(the blocks between -----BEGIN CERTIFICATE----- and -----END CERTIFICATE-----)"
)


def certificates_pem(value: str | None) -> str | None:
    """One or more PEM X.509 certificates, rewritten as plain PEM blocks (text outside them,
    such as openssl's "Bag Attributes", dropped). Empty means none."""
    if value is None or not value.strip():
        return None
    if _PRIVATE_KEY.search(value):
        raise ValueError(PRIVATE_KEY_REFUSED)
    if len(value) > MAX_PEM_CHARS:
        raise ValueError(
            f"is longer than {MAX_PEM_CHARS:,} characters: give the partner's CA or its own "
            "certificate, not a whole bundle"
        )
    try:
        found = x509.load_pem_x509_certificates(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValueError(
            "must be one or more PEM certificates (-----BEGIN CERTIFICATE----- … "
            "-----END CERTIFICATE-----) that parse as X.509"
        ) from None
    return "".join(cert.public_bytes(Encoding.PEM).decode("ascii") for cert in found)


def pin(value: str) -> str:
    """A SHA-256 pin as lower-case hex: colons, spaces and upper case as openssl prints it
    are accepted."""
    hex_digits = re.sub(r"[\s:]", "", value).lower()
    if not _HEX_64.fullmatch(hex_digits):
        raise ValueError(
            "must be a SHA-256 in hex: 64 hexadecimal digits (colons allowed), of the "
            "certificate or of its public key (as2bus partner pin --from-url prints both)"
        )
    return hex_digits


def pins(values: list[str]) -> list[str]:
    """Each pin once, in the order given."""
    return list(dict.fromkeys(values))


def proxy_url(value: str | None) -> str | None:
    """An http:// or https:// proxy with a host, without credentials (they would be published
    with the partner's settings). Empty means none."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        raise ValueError("must be a URL such as http://proxy.example:3128") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host, e.g. http://proxy:3128")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "must not hold a user name or password: the partner's settings are not secret "
            "(they are shown and published)"
        )
    return text
