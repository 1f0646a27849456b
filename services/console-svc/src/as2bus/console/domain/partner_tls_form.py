"""The Partner form's TLS section ↔ the partner's ``tls`` in config-svc's JSON, without I/O.

Form fields are ``tls_<API field>`` except the checkbox ``tls_skip_verify`` (checked: the API's
``verify`` false). Pins are one a line. PEM text is compared with what is stored line ending
and blank margins aside, as browsers post text areas with CRLF: an untouched form changes
nothing. A private key pasted into a PEM field is refused here, before it leaves the console,
and never shown again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography import x509

from as2bus.console.domain.config_forms import sentence
from as2bus.contracts.config import PartnerTls

PEM_FIELDS = ("ca_bundle_pem", "client_certificates_pem")
#: Yes/no selects ("on"/"off"), as the other flags of the partner form.
FLAG_FIELDS = ("client_certificate", "follow_redirects", "require_client_certificate")
FIELDS = tuple(
    f"tls_{name}"
    for name in (*PEM_FIELDS, "pinned_sha256", *FLAG_FIELDS, "min_version", "skip_verify",
                 "proxy_url")
)  # fmt: skip
TLS_VERSIONS = [("1.2", "TLS 1.2 or later (recommended)"), ("1.3", "TLS 1.3 only")]
PRIVATE_KEY_REFUSED = (
    "this holds a private key, which must never leave its owner: paste the certificate(s) "
    "only (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)"
)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
#: The form's field names for the API's, where they are not tls_<name>.
_FORM_NAMES = {"verify": "tls_skip_verify"}


def tls_values(tls: Mapping[str, Any] | None) -> dict[str, str]:
    """Stored TLS settings (None: from before they existed, the defaults) as the form shows
    them."""
    settings = {**PartnerTls().model_dump(), **(tls or {})}
    values = {f"tls_{name}": settings[name] or "" for name in PEM_FIELDS}
    values.update({f"tls_{name}": "on" if settings[name] else "off" for name in FLAG_FIELDS})
    values["tls_pinned_sha256"] = "\n".join(settings["pinned_sha256"])
    values["tls_min_version"] = settings["min_version"]
    values["tls_skip_verify"] = "off" if settings["verify"] else "on"
    values["tls_proxy_url"] = settings["proxy_url"] or ""
    return values


def _pem(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _pin(text: str) -> str:
    return re.sub(r"[\s:]", "", text).lower()


def _typed(form: Mapping[str, str]) -> dict[str, Any]:
    typed: dict[str, Any] = {name: _pem(form.get(f"tls_{name}", "")) or None for name in PEM_FIELDS}
    typed.update({name: form.get(f"tls_{name}") == "on" for name in FLAG_FIELDS})
    pins = form.get("tls_pinned_sha256", "").splitlines()
    typed["pinned_sha256"] = [line.strip() for line in pins if line.strip()]
    typed["min_version"] = form.get("tls_min_version") or "1.2"
    typed["verify"] = form.get("tls_skip_verify") != "on"  # an unchecked box is not posted
    typed["proxy_url"] = form.get("tls_proxy_url") or None
    return typed


def _same(name: str, typed: Any, stored: Any) -> bool:
    if name in PEM_FIELDS:
        return (typed or "") == _pem(stored or "")
    if name == "pinned_sha256":
        return [_pin(p) for p in typed] == list(stored)
    return bool(typed == stored)


def tls_body(
    form: Mapping[str, str], current: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The ``tls`` of a new partner (``current`` None) or the TLS fields that changed, None
    when nothing is to be sent; and the mistakes found before asking the API."""
    mistakes = {
        f"tls_{name}": PRIVATE_KEY_REFUSED
        for name in PEM_FIELDS
        if _PRIVATE_KEY.search(form.get(f"tls_{name}", ""))
    }
    if "tls_min_version" not in form or mistakes:  # a form without the TLS section
        return None, mistakes
    typed = _typed(form)
    if current is None:
        return typed, {}
    stored = {**PartnerTls().model_dump(), **(current.get("tls") or {})}
    changes = {k: v for k, v in typed.items() if not _same(k, v, stored[k])}
    return changes or None, {}


def without_private_keys(form: Mapping[str, str]) -> dict[str, str]:
    """A refused form as shown again: a PEM field holding a private key comes back empty."""
    pem_fields = {f"tls_{name}" for name in PEM_FIELDS}
    return {k: "" if k in pem_fields and _PRIVATE_KEY.search(v) else v for k, v in form.items()}


def certificate_lines(pem: str | None, now: datetime) -> list[str]:
    """Each certificate of a stored PEM text as ``<subject>, until <date>`` (or expired)."""
    if not pem:
        return []
    try:
        found = x509.load_pem_x509_certificates(pem.encode("ascii"))
    except ValueError:
        return ["not readable as PEM certificates"]
    lines = []
    for cert in found:
        end = cert.not_valid_after_utc
        when = f"{'expired' if end < now else 'until'} {end:%Y-%m-%d}"
        lines.append(f"{cert.subject.rfc4514_string() or '(no subject)'}, {when}")
    return lines


def stored_certificates(state: Mapping[str, Any], now: datetime) -> dict[str, list[str]]:
    """Form field → the stored certificates of a PEM field, in words, for the hint below it."""
    tls = state.get("tls") or {}
    return {f"tls_{name}": certificate_lines(tls.get(name), now) for name in PEM_FIELDS}


def tls_form_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """The API's refusals with TLS fields under the form's names: ``tls.proxy_url`` →
    ``tls_proxy_url``; ``tls.pinned_sha256.1`` → ``tls_pinned_sha256``, saying which pin."""
    placed: dict[str, str] = {}
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] != "tls" or len(parts) < 2:
            placed[key] = message
            continue
        name = _FORM_NAMES.get(parts[1], f"tls_{parts[1]}")
        if len(parts) > 2 and parts[2].isdigit():
            pin = f"pin {int(parts[2]) + 1}"
            said = sentence(message, pin.capitalize())  # pydantic's: "Pin 2 must be ..."
            message = said if said.startswith("Pin ") else f"{pin}: {said}"
        placed[name] = f"{placed[name]}; {message}" if name in placed else message
    return placed
