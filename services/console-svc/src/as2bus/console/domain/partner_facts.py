"""A partner's settings to read, for those who may not change them (operators and viewers):
the Partner form's groups and labels (partner_form's GROUPS and LABELS), each value in words
as the form shows it chosen, a secret only as set or not set, stored certificates by subject
and expiry. Only the authentication settings of the chosen kind are listed, as the form shows
only those. No I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from as2bus.console.domain.partner_form import (
    CHOICES,
    GROUPS,
    LABELS,
    partner_values,
    stored_secrets,
)
from as2bus.console.domain.partner_tls_form import stored_certificates

#: What an empty field means, as the form's hints say it; any other empty field reads "—".
#: What an empty Max attempts means: outbound-svc's setting, whose default the docs give.
DEFAULT_ATTEMPTS = "The gateway's default: 6 unless its settings say otherwise"
EMPTY = {
    "token_scheme": "None: the token alone",
    "refresh_uri": "None",
    "tls_ca_bundle_pem": "None: the public CAs",
    "tls_pinned_sha256": "None: no pinning",
    "tls_proxy_url": "None: the gateway's own proxy settings",
    "tls_client_certificates_pem": "None",
    "default_subject": "None: AS2 Message",
    "async_mdn_networks": "None: public addresses, and the networks allowed for every partner",
    "rate_limit_per_second": "None: no limit",
    "max_attempts": DEFAULT_ATTEMPTS,
}
#: Advice the form gives beside a choice ("(recommended)", "(only if the partner asks for
#: it)"): it helps to choose, not to read what was chosen.
_ADVICE = re.compile(r" \((recommended|old:|only )[^)]*\)$")
_AUTH_FIELDS = {
    "none": (),
    "basic": ("auth_username", "auth_password"),
    "token-header": ("token_header_name", "token_scheme", "token"),
    "token-query": ("token_param_name", "token"),
    "token-body": ("token_body_field", "token"),
}
_REFRESH_FIELDS = ("refresh_uri", "refresh_method", "refresh_media_type", "refresh_token_path",
                   "refresh_token", "refresh_headers")  # fmt: skip
#: Said of skipped verification, as the form's warning says it.
_NOT_VERIFIED = "Yes: anyone on the network path can read and change the messages to this partner"
_SECRETS = ("auth_password", "token", "refresh_token", "refresh_headers")
_CERTIFICATES = ("tls_ca_bundle_pem", "tls_client_certificates_pem")


class Line(NamedTuple):
    text: str
    #: Kept on one line after the text: a certificate's "until 2027-01-04", which would
    #: otherwise break at a hyphen of the date.
    whole: str = ""


@dataclass(frozen=True)
class Fact:
    name: str  # the form's field name
    label: str
    lines: tuple[Line, ...]  # the value: one line, or one a certificate or pin
    code: bool = False  # a pin: shown as code
    alarm: bool = False  # a setting that puts the messages at risk


@dataclass(frozen=True)
class Group:
    id: str  # the form's fieldset id
    legend: str
    facts: tuple[Fact, ...]
    parts: tuple[Group, ...] = ()  # a group inside it, as the form nests it


@dataclass(frozen=True)
class _Stored:
    """A stored partner as its form shows it: values, which secrets are set, certificates."""

    values: Mapping[str, str]
    secrets: Mapping[str, str]
    certificates: Mapping[str, list[str]]

    def fact(self, name: str) -> Fact:
        label, value = LABELS[name], self.values.get(name, "")
        if name in _SECRETS:
            stored = self.secrets.get(name)
            said = "Not set" if not stored else "Set" if stored == "set" else f"Set: {stored}"
            return Fact(name, label, (Line(said),))
        if name in _CERTIFICATES:
            lines = tuple(_certificate(c) for c in self.certificates.get(name, []))
            return Fact(name, label, lines or (Line(EMPTY[name]),))
        if name == "async_mdn_networks":
            networks = tuple(Line(network) for network in value.split())
            return Fact(name, label, networks or (Line(EMPTY[name]),), code=bool(networks))
        if name == "tls_pinned_sha256":
            pins = tuple(Line(pin) for pin in value.split())
            return Fact(name, label, pins or (Line(EMPTY[name]),), code=bool(pins))
        if name == "tls_skip_verify":  # a checkbox on the form
            if value != "on":
                return Fact(name, label, (Line("No"),))
            return Fact(name, label, (Line(_NOT_VERIFIED),), alarm=True)
        if name in CHOICES:
            value = _ADVICE.sub("", dict(CHOICES[name]).get(value, value))
        return Fact(name, label, (Line(value or EMPTY.get(name, "—")),))

    def group(self, group_id: str, *names: str, parts: tuple[Group, ...] = ()) -> Group:
        return Group(group_id, GROUPS[group_id], tuple(self.fact(n) for n in names), parts)


def partner_facts(state: Mapping[str, Any], now: datetime) -> list[Group]:
    """The stored partner ``state`` as the read-only page lists it, group by group."""
    stored = _Stored(partner_values(state), stored_secrets(state), stored_certificates(state, now))
    return [
        stored.group("partner-identity", "as2_id", "name", "as2_alias", "email", "enabled"),
        stored.group("partner-connection", "as2_url", "default_subject"),
        stored.group("partner-security", "signing_alg", "encryption_alg", "signature_scheme",
                     "key_transport", "compression", "outgoing_encoding",
                     "canonicalize_line_endings", "replay_protection", "as2_version"),
        stored.group("partner-mdn", "mdn_mode", "mdn_signature", "mdn_signing_alg",
                     "accept_expired_mdn_certificate", "async_mdn_url", "async_mdn_networks"),
        _authentication(stored),
        stored.group("partner-tls", "tls_ca_bundle_pem", "tls_pinned_sha256", "tls_min_version",
                     "tls_client_certificate", "tls_proxy_url", "tls_follow_redirects",
                     "tls_skip_verify",
                     parts=(stored.group("partner-tls-receiving", "tls_require_client_certificate",
                                         "tls_client_certificates_pem"),)),
        stored.group("partner-limits", "rate_limit_per_second", "max_concurrency", "max_attempts"),
    ]  # fmt: skip


def _certificate(line: str) -> Line:
    """A stored certificate, "<subject>, until <date>" (partner_tls_form), its date whole."""
    subject, comma, when = line.rpartition(", ")
    return Line(subject + comma, when) if comma else Line(line)


def _authentication(stored: _Stored) -> Group:
    """The chosen kind and its settings; a token's endpoint as a group of its own, or None."""
    kind = stored.values.get("auth_type", "none")
    names = ("auth_type", *_AUTH_FIELDS.get(kind, ()))
    if not kind.startswith("token-"):
        return stored.group("partner-auth", *names)
    if stored.values.get("refresh") != "on":
        return stored.group("partner-auth", *names, "refresh_uri")
    return stored.group("partner-auth", *names,
                        parts=(stored.group("token-refresh", *_REFRESH_FIELDS),))  # fmt: skip
