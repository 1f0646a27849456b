"""How an audit entry's changes read on the Audit page: each field by the name the console's
forms give it ("Partner URL", not ``as2_url``), values in words (yes/no, On/Off), times and
fingerprints marked so the page shows them as it shows them everywhere, and a certificate's
facts as what happened to it and to the one it replaces. No I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from as2bus.console.domain import partner_form
from as2bus.console.domain.notification_form import KIND_NAMES

#: The fields an entry may name, in the order the forms show them.
_ORDER = (
    "as2_id", "station_as2_id", "partner_as2_id", "name", "email", "enabled", "role", "status",
    "private_key_alias", "partner_cert_alias", "as2_alias", "as2_url", "default_subject",
    "as2_version",
    "signing_alg", "encryption_alg", "signature_scheme", "key_transport", "compression",
    "outgoing_encoding", "canonicalize_line_endings", "replay_protection", "mdn_mode",
    "mdn_signature", "mdn_signed", "mdn_signing_alg", "accept_expired_mdn_certificate",
    "async_mdn_url", "async_mdn_networks", "async_mdn_deadline_seconds", "http_auth",
    "auth_failure",
    "rate_limit_per_second", "max_concurrency", "max_attempts", "tls.ca_bundle_pem",
    "tls.pinned_sha256", "tls.min_version", "tls.client_certificate", "tls.proxy_url",
    "tls.follow_redirects", "tls.verify", "tls.require_client_certificate",
    "tls.client_certificates_pem", "accepted_encryption_algs", "accepted_signing_algs",
    "incoming_encoding", "target", "kind", "minutes", "repeat_minutes", "channel_ids",
    "secret password", "secret token", "secret refresh_token", "secret secret",
    "client_address", "file", "files", "subject", "resend_of", "retrying_messages", "request_id",
)  # fmt: skip
#: Labels of the fields the partner form has not, or names for partners only (an audit
#: entry's AS2 ID may be a station's); a partner's settings are named as its form names them.
_OWN_LABELS = {
    "as2_id": "AS2 ID", "station_as2_id": "My AS2 ID", "partner_as2_id": "Partner AS2 ID",
    "name": "Name", "email": "Email", "role": "Role", "status": "Status",
    "private_key_alias": "Private key alias", "partner_cert_alias": "Partner certificate alias",
    "mdn_signed": "Signed MDN", "async_mdn_deadline_seconds": "Async MDN deadline (seconds)",
    "http_auth": "Authentication", "auth_failure": "Refused credentials detection",
    "tls.ca_bundle_pem": "Trusted CA certificates",
    "tls.pinned_sha256": "Pinned certificates (SHA-256)", "tls.min_version": "Lowest TLS version",
    "tls.client_certificate": "Present our client certificate", "tls.proxy_url": "Proxy",
    "tls.follow_redirects": "Follow redirects",
    "tls.verify": "Verify the partner's server certificate",
    "tls.require_client_certificate": "Require the partner's client certificate",
    "tls.client_certificates_pem": "Partner's client certificates",
    "accepted_encryption_algs": "Accepted encryption algorithms",
    "accepted_signing_algs": "Accepted signing algorithms",
    "incoming_encoding": "Incoming transfer encoding", "target": "Sends to",
    "kind": "Watches for", "minutes": "After (minutes)",
    "repeat_minutes": "Summary at most every (minutes)", "channel_ids": "Channels",
    "secret password": "Password", "secret token": "Token",
    "secret refresh_token": "Refresh token", "secret secret": "Secret",
    "client_address": "From", "file": "File", "files": "Files", "subject": "Subject",
    "resend_of": "Resend of", "retrying_messages": "Messages sent now", "request_id": "Request",
}  # fmt: skip
#: Field → its name on the console's forms and pages, in the order the forms show them.
LABELS = {name: _OWN_LABELS.get(name) or partner_form.LABELS[name] for name in _ORDER}
#: A keystore's aliases as its page names them.
_KEYSTORE_LABELS = {"private_key_alias": "Our key alias"}
#: Settings inside a field (a partner's authentication, a channel's target), lower case.
_INNER_LABELS = {
    "username": "user name", "password_set": "password stored", "token_set": "token stored",
    "refresh_token_set": "refresh token stored", "secret_set": "secret stored",
    "header_name": "header name", "param_name": "URL parameter name",
    "body_field": "form field name", "refresh": "token endpoint", "uri": "URL", "url": "URL",
    "media_type": "media type", "token_path": "token path", "header_names": "headers",
    "host": "SMTP server", "sender": "from", "recipients": "to",
    "ca_bundle_pem": "trusted CA certificates", "status_code": "HTTP status",
}  # fmt: skip
#: A rule's channel that is no longer there to name.
DELETED_CHANNEL = "a channel deleted since"
#: An id the event also names: the name is shown, the id left out.
_NAMED_BY = {"station_id": "station_as2_id", "partner_id": "partner_as2_id"}
#: Fields that repeat another: ``mdn_signed`` follows ``mdn_signature``.
_REPEATS = {"mdn_signed": "mdn_signature"}

_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_FINGERPRINT = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,}$")
_PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True)
class Part:
    text: str
    #: time: an ISO instant, shown as the console shows times; fingerprint: "AB:CD:…".
    kind: Literal["text", "time", "fingerprint"] = "text"

    def __str__(self) -> str:
        return f"{self.text[:19].replace('T', ' ')} UTC" if self.kind == "time" else self.text


@dataclass(frozen=True)
class Line:
    """One line of an entry's changes, in parts; its text is what the page shows before the
    browser writes the times in its own zone."""

    parts: tuple[Part, ...]

    def __str__(self) -> str:
        return "".join(str(p) for p in self.parts)


def change_lines(
    entity: str, changes: dict[str, Any], channels: Mapping[str, str] | None = None
) -> list[Line]:
    """What the Audit page lists for an entry's changes, in the order the forms show them.
    ``channels``: notification channel id → name (a rule's change names only ids); None: no
    names at hand."""
    if entity == "certificate":
        return _certificate_lines({k: (v or {}).get("to") for k, v in changes.items()})
    order = list(LABELS)
    shown = [
        name for name in changes
        if not (_NAMED_BY.get(name) in changes or _REPEATS.get(name) in changes)
    ]  # fmt: skip
    shown.sort(key=lambda n: (order.index(n) if n in order else len(order), n))
    return [_change_line(name, changes[name], entity, channels) for name in shown]


def describe_change(name: str, change: dict[str, Any], entity: str = "") -> str:
    """One field's change as one line of text."""
    return str(_change_line(name, change, entity, None))


def _change_line(
    name: str, change: dict[str, Any], entity: str, channels: Mapping[str, str] | None
) -> Line:
    label = Part(f"{_label(name, entity)}: ")
    if "from" not in change:  # a secret: set, replaced or removed
        return Line((label, Part(str(change.get("to")))))
    after = _value(name, change.get("to"), channels)
    if change["from"] is None:
        return Line((label, *after))
    return Line((label, *_value(name, change["from"], channels), Part(" → "), *after))


def _label(name: str, entity: str) -> str:
    if entity == "keystore" and name in _KEYSTORE_LABELS:
        return _KEYSTORE_LABELS[name]
    if name in LABELS:
        return LABELS[name]
    if name.startswith("secret "):
        return _words(name.removeprefix("secret ")).capitalize()
    return _words(name).capitalize()


def _words(name: str) -> str:
    """A name nobody labelled yet, in words rather than as a key: ``tls.new_thing``."""
    return name.removeprefix("tls.").replace("_", " ").replace(".", " ")


def _value(name: str, value: Any, channels: Mapping[str, str] | None = None) -> tuple[Part, ...]:
    if name == "channel_ids" and isinstance(value, list):
        return (Part(", ".join(_channel(str(v), channels) for v in value) or "none"),)
    if name == "enabled" and isinstance(value, bool):
        return (Part("On" if value else "Off"),)
    if name == "kind" and value in KIND_NAMES:
        return (Part(KIND_NAMES[value]),)
    if isinstance(value, str) and _INSTANT.match(value):
        return (Part(value, "time"),)
    if isinstance(value, str) and _FINGERPRINT.match(value):
        return (Part(value, "fingerprint"),)
    return (Part(_shown(value)),)


def _channel(channel_id: str, channels: Mapping[str, str] | None) -> str:
    """A rule's channel by name, as the rule's form lists it. Deleted since, it has no name
    left to give; with no names at hand (config-svc not answering), a short id."""
    if channels is None:
        return f"channel {channel_id[:8]}"
    return channels.get(channel_id, DELETED_CHANNEL)


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        kind = [str(value["type"])] if value.get("type") else []
        inner = [f"{_INNER_LABELS.get(k, _words(k))}: {_shown(v)}" for k, v in value.items()
                 if k != "type" and v not in (None, [], {})]  # fmt: skip
        return ", ".join(kind + inner) or "none"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # minutes 1.0 → 1, as the forms show them
    if isinstance(value, str) and _PEM_CERTIFICATE in value:
        count = value.count(_PEM_CERTIFICATE)  # a partner's TLS certificates: not the PEM
        return f"{count} PEM certificate{'s' if count > 1 else ''}"
    return "—" if value is None else str(value)


def _certificate_lines(facts: dict[str, Any]) -> list[Line]:
    """cert-svc's facts about a certificate, as its page words them; a new certificate also
    says what becomes of the one it replaces."""
    lines = []
    if facts.get("change") == "schedule":
        lines.append(Line((Part("Switch times changed"),)))
    for name, label in (("subject", "Subject"), ("fingerprint_sha256", "Fingerprint (SHA-256)"),
                        ("activation_at", "In use from"), ("retirement_at", "Accepted until"),
                        ("not_after", "Valid until")):  # fmt: skip
        if facts.get(name):
            lines.append(Line((Part(f"{label}: "), *_value(name, facts[name]))))
    if facts.get("change") == "new-certificate":
        lines.append(_previous_retired(facts))
    return lines


def _previous_retired(facts: dict[str, Any]) -> Line:
    previous = [fp for fp in facts.get("previous_fingerprints") or [] if fp]
    if not previous:  # recorded before the entries kept which one and when
        return Line((Part("The previous certificate retires after the overlap"),))
    parts = [
        Part("The previous certificate " if len(previous) == 1 else "The previous certificates ")
    ]
    for number, fingerprint in enumerate(previous):
        if number:
            parts.append(Part(", "))
        parts.append(Part(fingerprint, "fingerprint"))
    verb = " is" if len(previous) == 1 else " are"
    retire_at = facts.get("previous_retire_at")
    if retire_at:
        return Line((*parts, Part(f"{verb} accepted until "), Part(retire_at, "time"),
                     Part(", then retired")))  # fmt: skip
    return Line((*parts, Part(f"{verb} retired")))
